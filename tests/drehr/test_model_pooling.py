"""Pooling on hand-computed tensors, for both padding sides."""

from __future__ import annotations

import torch

from drehr.model import cls_pool, last_token_pool, mean_pool

HIDDEN = torch.tensor(
    [[[1.0, 0.0], [3.0, 2.0], [9.0, 9.0]], [[5.0, 1.0], [7.0, 7.0], [2.0, 4.0]]]
)  # [B=2, T=3, H=2]


def test_mean_pool_ignores_padding():
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    torch.testing.assert_close(mean_pool(HIDDEN, mask), torch.tensor([[2.0, 1.0], [14 / 3, 4.0]]))


def test_cls_pool_takes_first_position():
    assert cls_pool(HIDDEN, torch.ones(2, 3, dtype=torch.long)).tolist() == [[1.0, 0.0], [5.0, 1.0]]


def test_last_token_pool_right_and_left_padding():
    right = torch.tensor([[1, 1, 0], [1, 1, 1]])
    left = torch.tensor([[0, 1, 1], [0, 0, 1]])
    assert last_token_pool(HIDDEN, right).tolist() == [[3.0, 2.0], [2.0, 4.0]]
    assert last_token_pool(HIDDEN, left).tolist() == [[9.0, 9.0], [2.0, 4.0]]
