"""Binary cross-entropy over the known labels of one or several tasks."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["masked_bce_with_logits"]


def masked_bce_with_logits(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean BCE over the entries whose target is known.

    Args:
        logits: [B, K] raw scores.
        target: [B, K] in {0, 1}, NaN = unknown (left out of the loss, e.g. a stay whose
            readmission label is undefined in multitask training).

    Returns:
        scalar loss; 0 (with a graph, so backward works) when no entry is known.
    """
    known = ~torch.isnan(target)  # [B, K]
    safe_target = torch.where(known, target, torch.zeros_like(target))
    per_entry = F.binary_cross_entropy_with_logits(logits, safe_target, reduction="none")  # [B, K]
    per_entry = torch.where(known, per_entry, torch.zeros_like(per_entry))
    return per_entry.sum() / known.sum().clamp(min=1)
