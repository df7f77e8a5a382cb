"""Bidirectional multi-head cross-attention between time-series tokens and text tokens.

`CrossAttentionBlock` is one direction: query tokens attend to context tokens, then a residual,
LayerNorm and a feed-forward block, as the EMERGE paper describes (and its released code omits).
`norm="pre"` normalizes before attention / feed-forward (x + Attn(LN(x), LN(c)); x + FFN(LN(x))),
`norm="post"` after the residual sum (LN(x + Attn(x, c)); LN(x + FFN(x))).

Missing modality: when a row has no valid context token (a stay without notes), softmax over an
all-masked row would be 0/0 = NaN. Such rows attend over an unmasked copy instead and their
attention output is multiplied by 0, so the query passes through the residual unchanged and no
NaN appears in the forward or backward pass.

`BidirectionalCrossAttention` stacks layers in which ts tokens attend to text tokens and text
tokens attend to ts tokens, both from the previous layer's states (a simultaneous update).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["CrossAttentionBlock", "BidirectionalCrossAttention"]


class CrossAttentionBlock(nn.Module):
    def __init__(
        self,
        hidden_dim: int,
        num_heads: int,
        dropout: float = 0.1,
        ffn_mult: int = 2,
        norm: Literal["pre", "post"] = "pre",
    ):
        super().__init__()
        self.norm_kind = norm
        self.attn = nn.MultiheadAttention(hidden_dim, num_heads, dropout=dropout, batch_first=True)
        self.norm_q = nn.LayerNorm(hidden_dim)
        self.norm_ctx = nn.LayerNorm(hidden_dim) if norm == "pre" else nn.Identity()
        self.norm_ffn = nn.LayerNorm(hidden_dim)
        self.ffn = nn.Sequential(
            nn.Linear(hidden_dim, ffn_mult * hidden_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(ffn_mult * hidden_dim, hidden_dim),
        )
        self.dropout = nn.Dropout(dropout)

    def _attend(
        self, q: torch.Tensor, ctx: torch.Tensor, ctx_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """q [B, Tq, H], ctx [B, Tk, H], ctx_mask [B, Tk] bool (True = valid) -> ([B, Tq, H], [B, Tq, Tk])."""
        if ctx_mask is None:
            out, weights = self.attn(q, ctx, ctx, need_weights=True)
            return out, weights
        has_ctx = ctx_mask.any(dim=1)  # [B]
        # Rows with no valid key attend over everything (finite) and are zeroed below.
        padding = ~ctx_mask & has_ctx.unsqueeze(1)  # [B, Tk] True = ignore
        out, weights = self.attn(q, ctx, ctx, key_padding_mask=padding, need_weights=True)
        keep = has_ctx.to(out.dtype).view(-1, 1, 1)  # [B, 1, 1]
        return out * keep, weights * keep

    def forward(
        self, x: torch.Tensor, ctx: torch.Tensor, ctx_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, Tq, H] attends to ctx [B, Tk, H] -> (x' [B, Tq, H], head-averaged weights [B, Tq, Tk])."""
        if self.norm_kind == "pre":
            a, weights = self._attend(self.norm_q(x), self.norm_ctx(ctx), ctx_mask)
            x = x + self.dropout(a)
            x = x + self.dropout(self.ffn(self.norm_ffn(x)))
        else:
            a, weights = self._attend(x, ctx, ctx_mask)
            x = self.norm_q(x + self.dropout(a))
            x = self.norm_ffn(x + self.dropout(self.ffn(x)))
        return x, weights


class BidirectionalCrossAttention(nn.Module):
    def __init__(
        self,
        hidden_dim: int,
        num_heads: int,
        num_layers: int = 1,
        dropout: float = 0.1,
        ffn_mult: int = 2,
        norm: Literal["pre", "post"] = "pre",
    ):
        super().__init__()
        self.ts_to_text = nn.ModuleList(
            CrossAttentionBlock(hidden_dim, num_heads, dropout, ffn_mult, norm) for _ in range(num_layers)
        )
        self.text_to_ts = nn.ModuleList(
            CrossAttentionBlock(hidden_dim, num_heads, dropout, ffn_mult, norm) for _ in range(num_layers)
        )
        self.final_ts = nn.LayerNorm(hidden_dim) if norm == "pre" else nn.Identity()
        self.final_text = nn.LayerNorm(hidden_dim) if norm == "pre" else nn.Identity()

    def forward(
        self, ts: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """ts [B, Tt, H], text [B, Tx, H], text_mask [B, Tx] ->
        (ts' [B, Tt, H], text' [B, Tx, H],
         {"ts_to_text": [B, Tt, Tx], "text_to_ts": [B, Tx, Tt]} of the last layer)."""
        weights: dict[str, torch.Tensor] = {}
        for ts_block, text_block in zip(self.ts_to_text, self.text_to_ts, strict=True):
            new_ts, weights["ts_to_text"] = ts_block(ts, text, text_mask)
            new_text, weights["text_to_ts"] = text_block(text, ts, None)
            ts, text = new_ts, new_text
        return self.final_ts(ts), self.final_text(text), weights
