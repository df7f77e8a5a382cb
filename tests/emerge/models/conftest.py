from __future__ import annotations

import pytest
import torch

from emerge.models import InputDims

torch.set_num_threads(1)  # small shared test machine: avoid OpenMP contention

DIMS = InputDims(ts_features=6, obs_mask_features=3, text_dim=8, steps=5)


def make_batch(b: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    """A tiny batch; stay 1 has no notes, stay 2 one note chunk, stay 3 no summary."""
    g = torch.Generator().manual_seed(seed)
    return {
        "x": torch.randn(b, DIMS.steps, DIMS.ts_features, generator=g),
        "x_mask": (torch.rand(b, DIMS.steps, DIMS.obs_mask_features, generator=g) > 0.5).to(torch.uint8),
        "notes": torch.randn(b, 3, DIMS.text_dim, generator=g),
        "notes_mask": torch.tensor([[1, 1, 0], [0, 0, 0], [1, 0, 0], [1, 1, 1]], dtype=torch.bool)[:b],
        "summary": torch.randn(b, 2, DIMS.text_dim, generator=g),
        "summary_mask": torch.tensor([[1, 1], [1, 0], [1, 1], [0, 0]], dtype=torch.bool)[:b],
    }


@pytest.fixture
def batch():
    return make_batch()


@pytest.fixture
def batch_factory():
    return make_batch


@pytest.fixture
def dims():
    return DIMS
