"""Projection of precomputed text chunk embeddings (notes or RAG summary) into the model width.

The text encoder proper (DR.EHR, MiniLM, a long-context clinical encoder) is frozen and run
beforehand; this module maps its D-dimensional chunk vectors [B, T, D] to tokens [B, T, H].
Padded chunks (mask False) are set to exactly zero so they carry nothing downstream.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["TextProjector"]


class TextProjector(nn.Module):
    def __init__(self, text_dim: int, hidden_dim: int, dropout: float = 0.1):
        super().__init__()
        self.norm = nn.LayerNorm(text_dim)
        self.proj = nn.Sequential(
            nn.Linear(text_dim, hidden_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden_dim, hidden_dim)
        )

    def forward(self, chunks: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """chunks [B, T, D], mask [B, T] bool -> tokens [B, T, H] (zeros at padded positions)."""
        tokens = self.proj(self.norm(chunks))  # [B, T, H]
        if mask is not None:
            tokens = torch.where(mask.unsqueeze(-1), tokens, torch.zeros_like(tokens))
        return tokens
