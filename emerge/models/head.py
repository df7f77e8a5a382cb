"""Prediction head: an MLP from the fused vector [B, H] to one logit per task [B, K].

It returns logits; probabilities are `torch.sigmoid(logits)` (the loss uses BCE-with-logits,
which is the numerically stable form of Sigmoid followed by BCE).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PredictionHead"]


class PredictionHead(nn.Module):
    def __init__(self, in_dim: int, hidden_dim: int, num_outputs: int, dropout: float = 0.25):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden_dim, num_outputs)
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h [B, in_dim] -> logits [B, K]."""
        return self.net(h)
