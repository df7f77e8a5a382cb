"""EMERGE as released (yhzhu99/EMERGE), kept for comparison with the paper's description.

The released code reduces each side to ONE token before its "cross-attention":
    ts vector   = last GRU state [B, H]                              -> [B, 1, H]
    text vector = Linear(mean note chunk ++ mean summary chunk) [B, H] -> [B, 1, H]
    ts_attn   = MHA(query=ts,   key=text, value=text)  # 4 heads
    text_attn = MHA(query=text, key=ts,   value=ts)
With a single key, softmax over one score is exactly 1, so each attention is a fixed linear map
of the other side's vector (value and output projections); there is no residual, LayerNorm or
feed-forward block. The two outputs are concatenated and projected, and the head is
GELU-Linear-Dropout(0.25)-Linear(-Sigmoid) (pipeline.ipynb's `MultitaskHead`: the GELU is applied to the
fused vector before each task's Linear-Dropout-Linear-Sigmoid; the sigmoid is applied by the loss / at
prediction time here).
"""

from __future__ import annotations

import torch
from torch import nn

from emerge.models.base import EmergeModel
from emerge.models.config import InputDims, ModelConfig
from emerge.models.pooling import masked_mean
from emerge.models.registry import register_model
from emerge.models.unimodal import build_ts_encoder

__all__ = ["EmergeReleasedModel"]


@register_model("emerge_released")
class EmergeReleasedModel(EmergeModel):
    requires = frozenset({"notes", "summary"})

    def __init__(self, config: ModelConfig, dims: InputDims, num_outputs: int):
        super().__init__(config, dims, num_outputs)
        h = config.hidden_dim
        self.ts_encoder = build_ts_encoder(config, dims)
        self.text_proj = nn.Linear(2 * dims.text_dim, h)
        self.ts_attends_text = nn.MultiheadAttention(h, config.num_heads, batch_first=True)
        self.text_attends_ts = nn.MultiheadAttention(h, config.num_heads, batch_first=True)
        self.fuse = nn.Linear(2 * h, h)
        self.head = nn.Sequential(
            nn.GELU(), nn.Linear(h, h), nn.Dropout(config.head_dropout), nn.Linear(h, num_outputs)
        )

    def forward_details(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        _, ts_vec = self.ts_encoder(batch["x"], batch.get("x_mask"))  # [B, H]
        notes, notes_mask = self.text_inputs(batch, "notes")
        summary, summary_mask = self.text_inputs(batch, "summary")
        notes_vec, _ = masked_mean(notes, notes_mask)  # [B, D]
        summary_vec, _ = masked_mean(summary, summary_mask)  # [B, D]
        text_vec = self.text_proj(torch.cat([notes_vec, summary_vec], dim=-1))  # [B, 2D] -> [B, H]
        ts_tok, text_tok = ts_vec.unsqueeze(1), text_vec.unsqueeze(1)  # [B, 1, H] each
        ts_out, w_ts = self.ts_attends_text(ts_tok, text_tok, text_tok, need_weights=True)  # [B,1,H], [B,1,1]
        text_out, w_text = self.text_attends_ts(text_tok, ts_tok, ts_tok, need_weights=True)
        fused = self.fuse(torch.cat([ts_out, text_out], dim=-1).squeeze(1))  # [B, 1, 2H] -> [B, H]
        return {"logits": self.head(fused), "attn_ts_to_text": w_ts, "attn_text_to_ts": w_text}
