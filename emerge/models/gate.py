"""Adaptive modality gate: learned softmax weights per stay over the pooled modality vectors.

Given M pooled vectors [B, M, H] the gate scores each modality from all of them together
(Linear over the concatenation), masks modalities the stay lacks (score -inf), and returns the
softmax-weighted sum [B, H] and the weights [B, M] (which sum to 1 and are 0 for a missing
modality). At least one modality must be present in every row; the time series always is.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["AdaptiveGate"]


class AdaptiveGate(nn.Module):
    def __init__(self, hidden_dim: int, num_modalities: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_dim)
        self.score = nn.Linear(num_modalities * hidden_dim, num_modalities)

    def forward(self, vectors: torch.Tensor, present: torch.Tensor | None = None
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
