"""Single-modality baselines: time series only, notes only, summary only.

Text baselines pool the projected chunk tokens with a masked mean; a stay without any chunk gets a
learned "missing" vector instead, so the head sees a distinct, trainable input rather than zeros.
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
from emerge.models.ts_encoder import TimeSeriesEncoder

__all__ = ["TsOnlyModel", "NotesOnlyModel", "SummaryOnlyModel", "build_ts_encoder"]


def build_ts_encoder(config: ModelConfig, dims: InputDims) -> TimeSeriesEncoder:
    """The time-series encoder every variant shares, from the config and the data sizes."""
    return TimeSeriesEncoder(
        dims.ts_features,
        config.hidden_dim,
        kind=config.ts_encoder,
        obs_mask_features=dims.obs_mask_features if config.use_obs_mask else 0,
        num_layers=config.ts_layers,
        num_heads=config.num_heads,
        dropout=config.dropout,
        steps=dims.steps,
        ffn_mult=config.ffn_mult,
    )


@register_model("ts_only")
class TsOnlyModel(EmergeModel):
    """Time-series encoder, pooled vector, MLP head."""

    def __init__(self, config: ModelConfig, dims: InputDims, num_outputs: int):
        super().__init__(config, dims, num_outputs)
        self.ts_encoder = build_ts_encoder(config, dims)
        self.head = PredictionHead(config.hidden_dim, config.hidden_dim, num_outputs, config.head_dropout)

    def forward_details(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        _, pooled = self.ts_encoder(batch["x"], batch.get("x_mask"))  # [B, H]
        return {"logits": self.head(pooled)}


class _TextOnlyModel(EmergeModel):
    source: str = ""

    def __init__(self, config: ModelConfig, dims: InputDims, num_outputs: int):
        super().__init__(config, dims, num_outputs)
        self.projector = TextProjector(dims.text_dim, config.hidden_dim, config.dropout)
        self.missing = nn.Parameter(torch.zeros(config.hidden_dim))
        self.head = PredictionHead(config.hidden_dim, config.hidden_dim, num_outputs, config.head_dropout)

    def forward_details(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        chunks, mask = self.text_inputs(batch, self.source)  # [B, T, D], [B, T]
        pooled, has_any = masked_mean(self.projector(chunks, mask), mask)  # [B, H], [B]
        pooled = torch.where(has_any.unsqueeze(-1), pooled, self.missing.expand_as(pooled))
        return {"logits": self.head(pooled)}


@register_model("notes_only")
class NotesOnlyModel(_TextOnlyModel):
    """Note chunk embeddings alone."""

    source = "notes"
    requires = frozenset({"notes"})


@register_model("summary_only")
class SummaryOnlyModel(_TextOnlyModel):
    """RAG summary chunk embeddings alone."""

    source = "summary"
    requires = frozenset({"summary"})
