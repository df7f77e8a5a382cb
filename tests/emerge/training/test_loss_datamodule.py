"""Masked BCE on hand-computed values; the DataModule's split checks."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from emerge.training import EmergeDataModule, masked_bce_with_logits
from foundation.errors import UserInputError


def test_masked_bce_hand_computed():
    logits = torch.tensor([[0.0, 2.0], [0.0, -1.0]])
    target = torch.tensor([[1.0, float("nan")], [0.0, float("nan")]])
    # Only the two zero logits count: each BCE is log 2.
    assert masked_bce_with_logits(logits, target).item() == pytest.approx(math.log(2))
    full = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    expected = (2 * math.log(2) + math.log(1 + math.exp(2)) + math.log(1 + math.exp(1))) / 4
    assert masked_bce_with_logits(logits, full).item() == pytest.approx(expected)


def test_masked_bce_all_unknown_is_zero_with_gradient():
    logits = torch.zeros(3, 1, requires_grad=True)
    loss = masked_bce_with_logits(logits, torch.full((3, 1), float("nan")))
    loss.backward()
    assert loss.item() == 0 and torch.equal(logits.grad, torch.zeros(3, 1))


def test_validation_without_positives_is_refused(tiny_data):
    y = tiny_data.y.clone()
    y[torch.from_numpy(tiny_data.split == "val"), 0] = 0
    data = dataclasses.replace(tiny_data, y=y)
    with pytest.raises(UserInputError, match="validation split has no positive stays for mortality"):
        EmergeDataModule(data, ("mortality",), "mortality")
    # The other task is still trainable.
    EmergeDataModule(data, ("readmission",), "readmission")


def test_missing_modality_is_refused(tiny_data):
    data = dataclasses.replace(tiny_data, summary=None, summary_mask=None)
    with pytest.raises(UserInputError, match=r"reads \['summary'\]"):
        EmergeDataModule(data, ("mortality",), "mortality", modalities=frozenset({"notes", "summary"}))


def test_batches_hold_the_task_columns_and_inputs(tiny_data):
    dm = EmergeDataModule(
        tiny_data, ("readmission",), "readmission", modalities=frozenset({"notes"}), batch_size=8
    )
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"x", "x_mask", "notes", "notes_mask", "y", "stay_id"}
    assert batch["y"].shape == (8, 1) and batch["x"].shape == (8, 12, 8)
    assert len(dm.dataset("test")) == int((tiny_data.split == "test").sum())
