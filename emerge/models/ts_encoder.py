"""Time-series encoder: a GRU (EMERGE's choice) or a Transformer encoder over the hourly steps.

Input is the normalized, imputed series x [B, T, F] (T = 48, F = 61) and, when
`use_obs_mask`, the observed-value indicators x_mask [B, T, V] (V = 17) concatenated to it, so
the encoder can tell a measured value from a forward-filled one. All T steps are valid (the data
is imputed), so no padding mask is needed over time.

Returns the whole sequence of states [B, T, H] (the fusion attends over it) and a pooled vector
[B, H]: the last GRU state, or the mean of the Transformer states.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from foundation.errors import UserInputError

__all__ = ["TimeSeriesEncoder"]


class TimeSeriesEncoder(nn.Module):
    def __init__(
        self,
        ts_features: int,
        hidden_dim: int,
        kind: Literal["gru", "transformer"] = "gru",
        obs_mask_features: int = 0,
        num_layers: int = 1,
        num_heads: int = 4,
        dropout: float = 0.1,
        steps: int = 48,
        ffn_mult: int = 2,
    ):
        super().__init__()
        self.kind = kind
        self.obs_mask_features = obs_mask_features
        in_features = ts_features + obs_mask_features
        if kind == "gru":
            self.rnn = nn.GRU(
                in_features,
                hidden_dim,
                num_layers=num_layers,
                batch_first=True,
                dropout=dropout if num_layers > 1 else 0.0,
            )
        elif kind == "transformer":
            self.input_proj = nn.Linear(in_features, hidden_dim)
            self.position = nn.Parameter(torch.zeros(1, steps, hidden_dim))
            nn.init.normal_(self.position, std=0.02)
            layer = nn.TransformerEncoderLayer(
                hidden_dim,
                num_heads,
                dim_feedforward=ffn_mult * hidden_dim,
                dropout=dropout,
                batch_first=True,
                norm_first=True,
            )
            self.transformer = nn.TransformerEncoder(layer, num_layers=num_layers, enable_nested_tensor=False)
            self.final_norm = nn.LayerNorm(hidden_dim)
        else:
            raise UserInputError(f"ts_encoder must be 'gru' or 'transformer', got {kind!r}.")

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, T, F], x_mask [B, T, V] -> (states [B, T, H], pooled [B, H])."""
        if self.obs_mask_features:
            if x_mask is None:
                raise UserInputError(
                    "the model was built with use_obs_mask=True but the batch has no 'x_mask'; "
                    "provide x_mask in the data or set use_obs_mask: false in the model config."
                )
            x = torch.cat([x, x_mask.to(x.dtype)], dim=-1)  # [B, T, F + V]
        if self.kind == "gru":
            states, h_n = self.rnn(x)  # states [B, T, H], h_n [layers, B, H]
            return states, h_n[-1]
        h = self.input_proj(x) + self.position[:, : x.shape[1]]  # [B, T, H]
        states = self.final_norm(self.transformer(h))  # [B, T, H]
        return states, states.mean(dim=1)
