"""Multi-Similarity loss (Wang et al., CVPR 2019) with chunks as anchors and their entities as positives.

For anchor i with similarities S_ik = cos(anchor_i, candidate_k), positives P_i, negatives N_i:

  mining:   keep negative k  if S_ik + margin > min_{p in P_i} S_ip
            keep positive k  if S_ik - margin < max_{n in N_i} S_in
  loss_i =  1/alpha * log(1 + sum_{k in kept P_i} exp(-alpha (S_ik - base)))
          + 1/beta  * log(1 + sum_{k in kept N_i} exp( beta (S_ik - base)))
  loss   =  mean_i loss_i

DR.EHR uses alpha 2, beta 50, base (lambda) 0.5, margin 0.1. Unlike the released code, the sums
are per anchor (not one log-sum over the batch), masked pairs contribute nothing (the released code zeroes
their similarity, so each still adds exp(alpha * lambda) = e to the positive sum and exp(-beta * lambda) to
the negative sum), and false negatives (a concept the anchor itself owns) are removed from the negatives.
"""

from __future__ import annotations

import torch

from drehr.losses.masks import pair_masks

__all__ = ["multi_similarity_loss_from_embeddings", "MultiSimilarityLoss"]


def _log1p_sum_exp(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """log(1 + sum_{k: keep} exp(x_k)) per row, stably: x, keep [A, N] -> [A]."""
    masked = x.masked_fill(~keep, float("-inf"))
    zeros = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device)  # the "1 +" term, exp(0)
    return torch.logsumexp(torch.cat([zeros, masked], dim=1), dim=1)


def multi_similarity_loss_from_embeddings(
    anchors: torch.Tensor,
    candidates: torch.Tensor,
    owner: torch.Tensor,
    labels: torch.Tensor,
    alpha: float = 2.0,
    beta: float = 50.0,
    base: float = 0.5,
    margin: float = 0.1,
) -> torch.Tensor:
    """anchors [A, d], candidates [N, d] (L2-normalized), owner [N], labels [N] -> scalar loss.

    An anchor with no kept positive (or no kept negative) contributes 0 for that term, as
    log(1 + empty sum) = 0; with no negatives at all no positive survives mining either.
    """
    sim = anchors.float() @ candidates.float().T  # [A, N] cosine similarities
    positive, negative = pair_masks(owner, labels, anchors.shape[0])
    with torch.no_grad():
        inf = torch.tensor(float("inf"), device=sim.device)
        min_pos = torch.where(positive, sim, inf).min(dim=1, keepdim=True).values  # [A, 1]
        max_neg = torch.where(negative, sim, -inf).max(dim=1, keepdim=True).values  # [A, 1]
    keep_neg = negative & (sim + margin > min_pos)
    keep_pos = positive & (sim - margin < max_neg)
    pos_term = _log1p_sum_exp(-alpha * (sim - base), keep_pos) / alpha  # [A]
    neg_term = _log1p_sum_exp(beta * (sim - base), keep_neg) / beta  # [A]
    return (pos_term + neg_term).mean()


class MultiSimilarityLoss(torch.nn.Module):
    """`multi_similarity_loss_from_embeddings` with its hyper-parameters held (DR.EHR's by default)."""

    def __init__(
        self, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5, margin: float = 0.1
    ) -> None:
        super().__init__()
        if alpha <= 0 or beta <= 0:
            raise ValueError(f"alpha and beta must be positive, got alpha={alpha}, beta={beta}")
        self.alpha, self.beta, self.base, self.margin = alpha, beta, base, margin

    def forward(
        self, anchors: torch.Tensor, candidates: torch.Tensor, owner: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        return multi_similarity_loss_from_embeddings(
            anchors, candidates, owner, labels, self.alpha, self.beta, self.base, self.margin
        )

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, beta={self.beta}, base={self.base}, margin={self.margin}"
