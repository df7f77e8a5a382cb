"""EMERGE fusion as the paper describes it: token-level bidirectional cross-attention between the
time-series states and the text chunk tokens, then an adaptive gate and the prediction head.

    x [B, 48, F] (+ x_mask) -> TimeSeriesEncoder -> ts tokens [B, 48, H]
    notes [B, Tn, D]   -> TextProjector (+ type embedding 0) -> [B, Tn, H]
    summary [B, Ts, D] -> TextProjector (+ type embedding 1) -> [B, Ts, H]
    text tokens = notes ++ summary [B, Tn + Ts, H], mask [B, Tn + Ts]
    BidirectionalCrossAttention: ts tokens attend to text tokens, text tokens to ts tokens
    pooled vectors: ts [B, H] (ts_pool "encoder", the default: the encoder's own pooled vector, the last
                    GRU state, as ts_only uses, plus "ts_context", the mean of the ts tokens after they
                    attended to the text; "mean": only the mean of the attended ts tokens, as in the
                    paper); notes / summary masked means [B, H] each
    fusion_output "gate" (the paper): AdaptiveGate, a softmax over the present modalities -> [B, H]
                  "residual": ts + gated text contributions (ResidualGate)            -> [B, H]
    -> PredictionHead -> logits [B, K]

A stay without notes (or summary) has an all-False mask: its ts tokens get a zero attention update,
and the gate gives the missing modality weight 0. `fusion_no_summary` is the same network without
the summary modality (the "no RAG" ablation).
"""

from __future__ import annotations

import torch
from torch import nn

from emerge.models.base import EmergeModel
from emerge.models.config import InputDims, ModelConfig
from emerge.models.cross_attention import BidirectionalCrossAttention
from emerge.models.gate import AdaptiveGate, ResidualGate
from emerge.models.head import PredictionHead
from emerge.models.pooling import masked_mean
from emerge.models.registry import register_model
from emerge.models.text_encoder import TextProjector
from emerge.models.unimodal import build_ts_encoder

__all__ = ["EmergeFullModel", "FusionNoSummaryModel", "TsSummaryModel"]


@register_model("emerge_full")
class EmergeFullModel(EmergeModel):
    requires = frozenset({"notes", "summary"})
    text_sources: tuple[str, ...] = ("notes", "summary")

    def __init__(self, config: ModelConfig, dims: InputDims, num_outputs: int):
        super().__init__(config, dims, num_outputs)
        h = config.hidden_dim
        self.ts_encoder = build_ts_encoder(config, dims)
        self.projectors = nn.ModuleDict(
            {k: TextProjector(dims.text_dim, h, config.dropout) for k in self.text_sources}
        )
        # Tells the attention which source a text token came from: [num_sources, H].
        self.type_embedding = nn.Parameter(torch.zeros(len(self.text_sources), h))
        nn.init.normal_(self.type_embedding, std=0.02)
        self.fusion = BidirectionalCrossAttention(
            h, config.num_heads, config.fusion_layers, config.dropout, config.ffn_mult, config.norm
        )
        others = len(self.modality_names) - 1
        if config.fusion_output == "gate":
            self.gate = AdaptiveGate(h, 1 + others)
        else:
            self.gate = ResidualGate(h, others, config.residual_gate_init)
        self.head = PredictionHead(h, h, num_outputs, config.head_dropout)

    @property
    def modality_names(self) -> tuple[str, ...]:
        """The pooled vectors' modalities, in the order of "gate" and "vectors". With ts_pool "encoder",
        "ts" is the encoder's vector and "ts_context" the mean of the time-series tokens after they
        attended to the text (so the ts -> text attention still reaches the prediction)."""
        context = ("ts_context",) if self.config.ts_pool == "encoder" else ()
        return ("ts", *context, *self.text_sources)

    def forward_details(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        ts_tokens, ts_pooled = self.ts_encoder(batch["x"], batch.get("x_mask"))  # [B, 48, H], [B, H]
        tokens, masks, lengths = [], [], []
        for i, key in enumerate(self.text_sources):
            chunks, mask = self.text_inputs(batch, key)  # [B, T_k, D], [B, T_k]
            tok = self.projectors[key](chunks, mask) + self.type_embedding[i]  # [B, T_k, H]
            tokens.append(tok)
            masks.append(mask)
            lengths.append(mask.shape[1])
        text = torch.cat(tokens, dim=1)  # [B, sum T_k, H]
        text_mask = torch.cat(masks, dim=1)  # [B, sum T_k]
        ts_tokens, text, attn = self.fusion(ts_tokens, text, text_mask)
        if self.config.ts_pool == "mean":
            vectors = [ts_tokens.mean(dim=1)]  # [B, H]
        else:
            vectors = [ts_pooled, ts_tokens.mean(dim=1)]  # the encoder's vector, then the attended context
        present = [torch.ones_like(text_mask[:, 0])] * len(vectors)
        for tok, mask in zip(torch.split(text, lengths, dim=1), masks, strict=True):  # [B, T_k, H] each
            pooled, has_any = masked_mean(tok, mask)
            vectors.append(pooled)
            present.append(has_any)
        stacked, present_t = torch.stack(vectors, dim=1), torch.stack(present, dim=1)  # [B, M, H], [B, M]
        if self.config.fusion_output == "gate":
            fused, gate = self.gate(stacked, present_t)  # [B, H], [B, M]
        else:
            fused, gate = self.gate(stacked[:, 0], stacked[:, 1:], present_t[:, 1:])
        return {
            "logits": self.head(fused),
            "gate": gate,
            "vectors": stacked,
            "present": present_t,
            **{f"attn_{k}": v for k, v in attn.items()},
        }


@register_model("fusion_no_summary")
class FusionNoSummaryModel(EmergeFullModel):
    """The fusion network over time series and notes only (ablation without the RAG summary)."""

    requires = frozenset({"notes"})
    text_sources = ("notes",)


@register_model("ts_summary")
class TsSummaryModel(EmergeFullModel):
    """The fusion network over time series and the RAG summary, no notes (EMERGE's "TS + RAG" ablation)."""

    requires = frozenset({"summary"})
    text_sources = ("summary",)
