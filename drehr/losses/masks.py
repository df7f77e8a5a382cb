"""Which (anchor, candidate) pairs are positives, negatives or masked false negatives.

In a batch, anchors [A] (chunks) each own some candidates [N] (their entities), given as
`owner[k]` = index of the anchor that candidate k belongs to. Every candidate carries an integer
`label`; candidates with the same label are the same concept (same string or same KG id). For
anchor i, candidate k is
- a positive when owner[k] == i;
- a false negative (masked) when owner[k] != i but its label equals the label of one of i's
  own candidates: it names something the chunk contains, so it must not be pushed away;
- a negative otherwise.
"""

from __future__ import annotations

import torch

__all__ = ["pair_masks"]


def pair_masks(
    owner: torch.Tensor, labels: torch.Tensor, n_anchors: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """owner [N] long, labels [N] long -> (positive [A, N] bool, negative [A, N] bool)."""
    anchors = torch.arange(n_anchors, device=owner.device)
    positive = owner.unsqueeze(0) == anchors.unsqueeze(1)  # [A, N]
    same_label = labels.unsqueeze(0) == labels.unsqueeze(1)  # [N, N]
    # anchor i "contains" candidate k's concept if any of i's own candidates has k's label
    contains = (positive.to(torch.float32) @ same_label.to(torch.float32)) > 0  # [A, N]
    negative = ~positive & ~contains
    return positive, negative
