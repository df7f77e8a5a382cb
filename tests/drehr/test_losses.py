"""Losses on hand-computed values and against a loop-by-loop reference of the paper's formula."""

from __future__ import annotations

import math

import pytest
import torch

from drehr.losses import (
    InfoNCELoss,
    MultiSimilarityLoss,
    info_nce_loss_from_embeddings,
    multi_similarity_loss_from_embeddings,
    pair_masks,
)

# anchors a0=(1,0), a1=(0,1); candidates c0=(1,0), c1=(.6,.8) of a0 and c2=(.8,.6) of a1.
# cos: a0 -> [1, .6, .8], a1 -> [0, .8, .6]
ANCHORS = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
CANDS = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.8, 0.6]])
OWNER = torch.tensor([0, 0, 1])


def test_pair_masks_marks_false_negatives():
    pos, neg = pair_masks(OWNER, torch.tensor([0, 1, 0]), 2)  # c2 is the same concept as c0
    assert pos.tolist() == [[True, True, False], [False, False, True]]
    assert neg.tolist() == [[False, False, False], [False, True, False]]


def test_multi_similarity_hand_computed():
    # anchor 0: min pos .6, max neg .8 -> negative c2 kept (.9 > .6); positive c0 dropped (.9 !< .8), c1 kept
    # anchor 1: min pos .6 -> c0 dropped (.1 !> .6), c1 kept; max neg .8 -> c2 kept (.5 < .8)
    per_anchor = 0.5 * math.log1p(math.exp(-2 * 0.1)) + math.log1p(math.exp(50 * 0.3)) / 50
    loss = multi_similarity_loss_from_embeddings(ANCHORS, CANDS, OWNER, torch.tensor([0, 1, 2]))
    assert loss.item() == pytest.approx(per_anchor, rel=1e-5)


def test_multi_similarity_masks_same_concept():
    # c2 shares c0's label: anchor 0 has no negative left (loss 0), anchor 1 keeps only c1 as negative
    per_anchor_1 = 0.5 * math.log1p(math.exp(-2 * 0.1)) + math.log1p(math.exp(50 * 0.3)) / 50
    loss = multi_similarity_loss_from_embeddings(ANCHORS, CANDS, OWNER, torch.tensor([0, 1, 0]))
    assert loss.item() == pytest.approx(per_anchor_1 / 2, rel=1e-5)


def _reference_ms(anchors, cands, owner, labels, alpha=2.0, beta=50.0, lam=0.5, eps=0.1):
    """Straight loops over the paper's definition, per anchor."""
    total = 0.0
    for i in range(anchors.shape[0]):
        own_labels = {int(labels[k]) for k in range(len(owner)) if owner[k] == i}
        sims = [float(anchors[i] @ cands[k]) for k in range(len(owner))]
        pos = [sims[k] for k in range(len(owner)) if owner[k] == i]
        neg = [sims[k] for k in range(len(owner)) if owner[k] != i and int(labels[k]) not in own_labels]
        kept_neg = [s for s in neg if pos and s + eps > min(pos)]
        kept_pos = [s for s in pos if neg and s - eps < max(neg)]
        total += math.log(1 + sum(math.exp(-alpha * (s - lam)) for s in kept_pos)) / alpha
        total += math.log(1 + sum(math.exp(beta * (s - lam)) for s in kept_neg)) / beta
    return total / anchors.shape[0]


def test_multi_similarity_matches_reference_on_random_batches():
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        anchors = torch.nn.functional.normalize(torch.randn(4, 8, generator=gen), dim=-1)
        cands = torch.nn.functional.normalize(torch.randn(12, 8, generator=gen), dim=-1)
        owner = torch.arange(4).repeat_interleave(3)
        labels = torch.randint(0, 8, (12,), generator=gen)
        got = MultiSimilarityLoss()(anchors, cands, owner, labels).item()
        assert got == pytest.approx(_reference_ms(anchors, cands, owner, labels), rel=1e-4, abs=1e-6)


def test_multi_similarity_gradient_is_finite_without_negatives():
    anchors = ANCHORS[:1].clone().requires_grad_(True)
    loss = multi_similarity_loss_from_embeddings(anchors, CANDS[:2], OWNER[:2], torch.tensor([0, 1]))
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(anchors.grad).all()


def test_info_nce_one_positive_each_is_clip_loss():
    # a0 owns c0=(1,0), a1 owns c1=(.8,.6); logits with T=1: a0 -> [1, .8], a1 -> [0, .6]
    anchors, cands, owner = ANCHORS, torch.tensor([[1.0, 0.0], [0.8, 0.6]]), torch.tensor([0, 1])
    to_anchor = (
        (math.log(math.exp(1) + math.exp(0)) - 1) + (math.log(math.exp(0.8) + math.exp(0.6)) - 0.6)
    ) / 2
    to_cand = (
        (math.log(math.exp(1) + math.exp(0.8)) - 1) + (math.log(math.exp(0) + math.exp(0.6)) - 0.6)
    ) / 2
    labels = torch.tensor([0, 1])
    one_way = info_nce_loss_from_embeddings(anchors, cands, owner, labels, temperature=1.0, symmetric=False)
    both = InfoNCELoss(temperature=1.0)(anchors, cands, owner, labels)
    assert one_way.item() == pytest.approx(to_anchor, rel=1e-5)
    assert both.item() == pytest.approx((to_anchor + to_cand) / 2, rel=1e-5)
    # the same cross-entropy torch computes for the diagonal targets
    logits = anchors @ cands.T
    ce = torch.nn.functional.cross_entropy(logits.T, torch.arange(2))
    assert one_way.item() == pytest.approx(ce.item(), rel=1e-5)


def test_info_nce_masks_false_negative_anchor():
    # same label: anchor 1 is not a competitor for c0 and vice versa -> each column has only its owner
    anchors, cands, owner = ANCHORS, torch.tensor([[1.0, 0.0], [0.8, 0.6]]), torch.tensor([0, 1])
    loss = info_nce_loss_from_embeddings(anchors, cands, owner, torch.tensor([3, 3]), temperature=1.0)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)


def test_info_nce_temperature_must_be_positive():
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(temperature=0.0)


def _dense_masks(owner, labels, n_anchors):
    """The masks as they were built before: an [N, N] float label matrix and a matmul."""
    positive = owner.unsqueeze(0) == torch.arange(n_anchors).unsqueeze(1)
    same_label = (labels.unsqueeze(0) == labels.unsqueeze(1)).float()  # [N, N]
    contains = (positive.float() @ same_label) > 0
    return positive, ~positive & ~contains


def test_pair_masks_are_bool_anchor_by_candidate_and_equal_the_dense_construction():
    gen = torch.Generator().manual_seed(0)
    for n_anchors, per_anchor, n_labels in ((3, 4, 5), (16, 8, 40), (32, 16, 1000)):
        owner = torch.arange(n_anchors).repeat_interleave(per_anchor)
        labels = torch.randint(0, n_labels, (owner.numel(),), generator=gen)
        pos, neg = pair_masks(owner, labels, n_anchors)
        n = owner.numel()
        assert pos.dtype == neg.dtype == torch.bool
        assert pos.shape == neg.shape == (n_anchors, n)  # [A, N], never [N, N]
        ref_pos, ref_neg = _dense_masks(owner, labels, n_anchors)
        assert torch.equal(pos, ref_pos) and torch.equal(neg, ref_neg)


def test_pair_masks_never_build_a_candidate_by_candidate_matrix(monkeypatch):
    """Every tensor the mask code makes is at most [A, N] (A anchors << N candidates)."""
    n_anchors, n = 4, 512
    owner = torch.arange(n_anchors).repeat_interleave(n // n_anchors)
    labels = torch.arange(n) % 300
    largest = 0
    real_eq, real_zeros = torch.Tensor.__eq__, torch.zeros

    def eq(a, b):
        nonlocal largest
        out = real_eq(a, b)
        largest = max(largest, out.numel())
        return out

    def zeros(*args, **kwargs):
        nonlocal largest
        out = real_zeros(*args, **kwargs)
        largest = max(largest, out.numel())
        return out

    monkeypatch.setattr(torch.Tensor, "__eq__", eq)
    monkeypatch.setattr(torch, "zeros", zeros)
    pos, neg = pair_masks(owner, labels, n_anchors)
    assert pos.shape == (n_anchors, n) and largest <= n_anchors * n < n * n
