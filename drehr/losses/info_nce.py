"""In-batch InfoNCE for (question, passage) pairs: the QA recipe (JMIR 2026; e5-style training).

Anchors [A] (passages) own candidates [N] (their questions). With s = cos / temperature:

- candidate -> anchor (always): each question picks its own passage among the batch's passages,
  loss_k = -log( exp(s[o_k, k]) / sum_{j allowed} exp(s[j, k]) ), where the allowed passages are
  its owner and every passage that does not own a question with the same label (false negatives
  removed);
- anchor -> candidate (`symmetric=True`): each (passage i, own question k) pair against the
  passage's negatives, loss_ik = -log( exp(s[i, k]) / (exp(s[i, k]) + sum_{n in N_i} exp(s[i, n])) );
  the two directions are averaged.
With one question per passage and distinct labels this is the usual symmetric InfoNCE / CLIP loss.
"""

from __future__ import annotations

import torch

from drehr.losses.masks import pair_masks

__all__ = ["info_nce_loss_from_embeddings", "InfoNCELoss"]


def info_nce_loss_from_embeddings(
    anchors: torch.Tensor,
    candidates: torch.Tensor,
    owner: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 0.05,
    symmetric: bool = True,
) -> torch.Tensor:
    """anchors [A, d], candidates [N, d] (L2-normalized), owner [N], labels [N] -> scalar loss."""
    logits = (anchors.float() @ candidates.float().T) / temperature  # [A, N]
    positive, negative = pair_masks(owner, labels, anchors.shape[0])
    # candidate -> anchor: column k, softmax over the allowed anchors
    allowed = positive | negative  # [A, N]; false negatives excluded
    col_logits = logits.masked_fill(~allowed, float("-inf"))
    own = logits.gather(0, owner.unsqueeze(0)).squeeze(0)  # [N] = logits[owner[k], k]
    to_anchor = (torch.logsumexp(col_logits, dim=0) - own).mean()
    if not symmetric:
        return to_anchor
    # anchor -> candidate: every own pair (i, k) against the negatives of anchor i
    # a large finite fill (not -inf) keeps gradients finite for an anchor without negatives
    neg_lse = torch.logsumexp(logits.masked_fill(~negative, -1e9), dim=1)  # [A]
    pair_neg = neg_lse[owner]  # [N]
    to_candidate = (torch.logaddexp(own, pair_neg) - own).mean()
    return 0.5 * (to_anchor + to_candidate)


class InfoNCELoss(torch.nn.Module):
    """`info_nce_loss_from_embeddings` with its temperature and direction held."""

    def __init__(self, temperature: float = 0.05, symmetric: bool = True) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature, self.symmetric = temperature, symmetric

    def forward(
        self, anchors: torch.Tensor, candidates: torch.Tensor, owner: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        return info_nce_loss_from_embeddings(
            anchors, candidates, owner, labels, self.temperature, self.symmetric
        )

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, symmetric={self.symmetric}"
