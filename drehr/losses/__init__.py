"""Contrastive losses over (anchor, candidates) batches: Multi-Similarity (DR.EHR) and InfoNCE (QA).

Each loss takes anchors [A, d], candidates [N, d], `owner` [N] (which anchor a candidate belongs
to) and `labels` [N] (concept ids; equal labels = same concept, used to mask false negatives).
"""

from drehr.losses.info_nce import InfoNCELoss, info_nce_loss_from_embeddings
from drehr.losses.masks import pair_masks
from drehr.losses.multi_similarity import MultiSimilarityLoss, multi_similarity_loss_from_embeddings

__all__ = [
    "MultiSimilarityLoss",
    "multi_similarity_loss_from_embeddings",
    "InfoNCELoss",
    "info_nce_loss_from_embeddings",
    "pair_masks",
]
