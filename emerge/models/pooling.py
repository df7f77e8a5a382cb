"""Masked mean pooling over a token axis, safe for rows with no valid token."""

from __future__ import annotations

import torch

__all__ = ["masked_mean"]


def masked_mean(tokens: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of the valid tokens of each row.

    Args:
        tokens: [B, T, H].
        mask: [B, T] bool, True = valid token; None = all valid.

    Returns:
        pooled [B, H] (zeros for a row without valid tokens) and has_any [B] bool.
    """
    if mask is None:
        return tokens.mean(dim=1), torch.ones(tokens.shape[0], dtype=torch.bool, device=tokens.device)
    weights = mask.to(tokens.dtype).unsqueeze(-1)  # [B, T, 1]
    count = weights.sum(dim=1)  # [B, 1]
    # where() rather than multiplication: a masked token holding inf/NaN must not leak in.
    summed = torch.where(weights > 0, tokens, torch.zeros_like(tokens)).sum(dim=1)  # [B, H]
    pooled = summed / count.clamp(min=1.0)
    return pooled, mask.any(dim=1)
