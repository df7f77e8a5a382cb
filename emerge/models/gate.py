"""Adaptive modality gate: learned softmax weights per stay over the pooled modality vectors.

Given M pooled vectors [B, M, H] the gate scores each modality from all of them together
(Linear over the concatenation), masks modalities the stay lacks (score -inf), and returns the
softmax-weighted sum [B, H] and the weights [B, M] (which sum to 1 and are 0 for a missing
modality). At least one modality must be present in every row; the time series always is.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["AdaptiveGate", "ResidualGate"]


class AdaptiveGate(nn.Module):
    def __init__(self, hidden_dim: int, num_modalities: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_dim)
        self.score = nn.Linear(num_modalities * hidden_dim, num_modalities)

    def forward(
        self, vectors: torch.Tensor, present: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """vectors [B, M, H], present [B, M] bool -> (fused [B, H], weights [B, M])."""
        vectors = self.norm(vectors)
        b, m, h = vectors.shape
        scores = self.score(vectors.reshape(b, m * h))  # [B, M*H] -> [B, M]
        if present is not None:
            scores = scores.masked_fill(~present, float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # [B, M]
        fused = (weights.unsqueeze(-1) * vectors).sum(dim=1)  # [B, M, H] -> [B, H]
        return fused, weights


class ResidualGate(nn.Module):
    """The time-series vector plus gated contributions of the other modalities:

        fused = ts + sum_m g_m * W_m LN(v_m),   g_m = sigmoid(a_m . [ts, v_m] + b_m) in (0, 1)

    ts [B, H] passes through untouched (the path that keeps the time-series representation intact);
    each other modality m adds a projected vector scaled by its own gate, computed per stay from the
    time series and that modality. The gate bias starts at logit(`init`) (0.1: text enters slowly),
    and a missing modality gets g_m = 0. Returns (fused [B, H], gates [B, 1 + M'] with 1 for ts).
    """

    def __init__(self, hidden_dim: int, num_others: int, init: float = 0.1):
        super().__init__()
        self.norm = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(num_others))
        self.proj = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim) for _ in range(num_others))
        self.score = nn.ModuleList(nn.Linear(2 * hidden_dim, 1) for _ in range(num_others))
        bias = float(torch.logit(torch.tensor(init)))
        for score in self.score:
            nn.init.zeros_(score.weight)
            nn.init.constant_(score.bias, bias)

    def forward(
        self, ts: torch.Tensor, others: torch.Tensor, present: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """ts [B, H], others [B, M', H], present [B, M'] bool -> (fused [B, H], gates [B, 1 + M'])."""
        fused, gates = ts, [torch.ones_like(ts[:, 0])]
        for m in range(others.shape[1]):
            v = self.norm[m](others[:, m])  # [B, H]
            g = torch.sigmoid(self.score[m](torch.cat([ts, v], dim=-1))).squeeze(-1)  # [B]
            if present is not None:
                g = g * present[:, m].to(g.dtype)
            fused = fused + g.unsqueeze(-1) * self.proj[m](v)
            gates.append(g)
        return fused, torch.stack(gates, dim=1)
