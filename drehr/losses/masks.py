"""Which (anchor, candidate) pairs are positives, negatives or masked false negatives.

In a batch, anchors [A] (chunks) each own some candidates [N] (their entities), given as
`owner[k]` = index of the anchor that candidate k belongs to. Every candidate carries an integer
`label`; candidates with the same label are the same concept (same string or same KG id). For
anchor i, candidate k is
- a positive when owner[k] == i;
- a false negative (masked) when owner[k] != i but its label equals the label of one of i's
  own candidates: it names something the chunk contains, so it must not be pushed away;
- a negative otherwise.

The masks are bool [A, N], built from label comparisons; nothing [N, N] is formed. With embeddings gathered
across GPUs N is large (e.g. DR.EHR small's sizes, 32 chunks x 128 positives = 4,096 candidates per GPU, if
gathered over 8 GPUs: A = 256, N = 32,768; DR.EHR itself gathers only for its large model): a dense [N, N]
float label matrix would take N^2 x 4 bytes (4 GiB) where the two masks take 2 x A x N bytes (16 MiB).
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
    # the batch's distinct concepts, and each candidate's index among them
    concepts, concept_of = torch.unique(labels, return_inverse=True)  # [U], [N]
    # owns[i, u]: anchor i has a candidate of concept u                   [A, U], U <= N
    owns = torch.zeros(n_anchors, concepts.numel(), dtype=torch.bool, device=owner.device)
    owns[owner, concept_of] = True
    # anchor i "contains" candidate k's concept if any of i's own candidates has k's label
    contains = owns[:, concept_of]  # [A, N]; a positive is always contained
    negative = ~positive & ~contains
    return positive, negative
