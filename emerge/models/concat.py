"""Late-concatenation baseline: pooled time series, notes and summary vectors side by side, MLP head.

No interaction between modalities before the head; a missing text modality contributes a learned
"missing" vector.
"""

from __future__ import annotations

import torch
from torch import nn

from emerge.models.base import EmergeModel
from emerge.models.config import InputDims, ModelConfig
from emerge.models.head import PredictionHead
from emerge.models.pooling import masked_mean
from emerge.models.registry import register_model
from emerge.models.text_encoder import TextProjector
from emerge.models.unimodal import build_ts_encoder

__all__ = ["ConcatModel", "ConcatNoSummaryModel", "NotesSummaryModel"]


@register_model("concat")
class ConcatModel(EmergeModel):
    requires = frozenset({"notes", "summary"})

    def __init__(self, config: ModelConfig, dims: InputDims, num_outputs: int):
        super().__init__(config, dims, num_outputs)
        h = config.hidden_dim
        self.ts_encoder = build_ts_encoder(config, dims)
        # sorted: iterating a frozenset follows the per-process string hash, so building the projectors in
        # that order would draw their random initial weights in a different order from run to run
        sources = sorted(self.requires)
        self.projectors = nn.ModuleDict({k: TextProjector(dims.text_dim, h, config.dropout) for k in sources})
        self.missing = nn.ParameterDict({k: nn.Parameter(torch.zeros(h)) for k in sources})
        self.head = PredictionHead(h * (1 + len(self.requires)), h, num_outputs, config.head_dropout)

    def forward_details(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        _, ts_vec = self.ts_encoder(batch["x"], batch.get("x_mask"))  # [B, H]
        parts = [ts_vec]
        for key in sorted(self.requires):
            chunks, mask = self.text_inputs(batch, key)
            pooled, has_any = masked_mean(self.projectors[key](chunks, mask), mask)  # [B, H]
            parts.append(torch.where(has_any.unsqueeze(-1), pooled, self.missing[key].expand_as(pooled)))
        return {"logits": self.head(torch.cat(parts, dim=-1))}  # [B, (1 + M) H] -> [B, K]


@register_model("concat_no_summary")
class ConcatNoSummaryModel(ConcatModel):
    """Late fusion of the time-series vector and the pooled notes vector, no summary: the "TS + Note"
    comparison point that tells a weak note representation from a weak fusion."""

    requires = frozenset({"notes"})


@register_model("notes_summary")
class NotesSummaryModel(EmergeModel):
    """Notes and the RAG summary without the time series (EMERGE's "Note + RAG" ablation): the pooled
    notes and summary vectors side by side, MLP head. With no time-series tokens there is nothing for
    the cross-attention to attend between, so the two text vectors meet late, as in `concat`."""

    requires = frozenset({"notes", "summary"})

    def __init__(self, config: ModelConfig, dims: InputDims, num_outputs: int):
        super().__init__(config, dims, num_outputs)
        h = config.hidden_dim
        sources = sorted(self.requires)
        self.projectors = nn.ModuleDict({k: TextProjector(dims.text_dim, h, config.dropout) for k in sources})
        self.missing = nn.ParameterDict({k: nn.Parameter(torch.zeros(h)) for k in sources})
        self.head = PredictionHead(h * len(sources), h, num_outputs, config.head_dropout)

    def forward_details(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        parts = []
        for key in sorted(self.requires):
            chunks, mask = self.text_inputs(batch, key)
            pooled, has_any = masked_mean(self.projectors[key](chunks, mask), mask)  # [B, H]
            parts.append(torch.where(has_any.unsqueeze(-1), pooled, self.missing[key].expand_as(pooled)))
        return {"logits": self.head(torch.cat(parts, dim=-1))}  # [B, 2H] -> [B, K]
