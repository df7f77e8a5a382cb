"""A small synthetic `ModelReadyData` whose labels really depend on every modality.

Used by the tests and for quick checks of the training loop without MIMIC. A latent risk per stay
shifts a few time-series features upward in the second half of the window, moves the note chunk
embeddings along one direction and the summary embeddings along another; the labels are drawn from
logistic functions of the risk. A fraction of stays has no notes (all-False mask).
"""

from __future__ import annotations

import numpy as np
import torch

from emerge.training.data import ModelReadyData

__all__ = ["make_synthetic_data"]


def make_synthetic_data(
    n_stays: int = 96,
    steps: int = 48,
    features: int = 61,
    obs_features: int = 17,
    text_dim: int = 16,
    n_notes: int = 4,
    n_summary: int = 2,
    no_notes_fraction: float = 0.2,
    signal: float = 2.0,
    seed: int = 0,
    text_encoder: str = "synthetic",
) -> ModelReadyData:
    """Build `n_stays` stays split 60/20/20 into train/val/test (each split holds both classes)."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n_stays)  # [N]
    x = rng.normal(size=(n_stays, steps, features)).astype(np.float32)
    x[:, steps // 2 :, :3] += signal * risk[:, None, None]
    x_mask = (rng.random((n_stays, steps, obs_features)) < 0.4).astype(np.uint8)
    direction = rng.normal(size=text_dim)
    direction /= np.linalg.norm(direction)
    notes = rng.normal(size=(n_stays, n_notes, text_dim)) + signal * risk[:, None, None] * direction
    n_valid = rng.integers(1, n_notes + 1, size=n_stays)
    n_valid[rng.random(n_stays) < no_notes_fraction] = 0
    notes_mask = np.arange(n_notes)[None, :] < n_valid[:, None]
    notes = np.where(notes_mask[..., None], notes, 0.0)
    summary = rng.normal(size=(n_stays, n_summary, text_dim)) - signal * risk[:, None, None] * direction[::-1]
    summary_mask = np.ones((n_stays, n_summary), dtype=bool)
    mortality = (rng.random(n_stays) < 1 / (1 + np.exp(-(2.5 * risk - 1.0)))).astype(np.float32)
    readmission = (rng.random(n_stays) < 1 / (1 + np.exp(-(1.5 * risk - 0.5)))).astype(np.float32)
    # Interleave the splits so every split sees the whole risk range.
    split = np.array(["train", "train", "train", "val", "test"])[np.arange(n_stays) % 5]
    return ModelReadyData(
        x=torch.from_numpy(x),
        x_mask=torch.from_numpy(x_mask),
        notes=torch.from_numpy(notes.astype(np.float32)),
        notes_mask=torch.from_numpy(notes_mask),
        summary=torch.from_numpy(summary.astype(np.float32)),
        summary_mask=torch.from_numpy(summary_mask),
        y=torch.from_numpy(np.stack([mortality, readmission], axis=1)),
        tasks=("mortality", "readmission"),
        stay_id=torch.arange(1000, 1000 + n_stays, dtype=torch.int64),
        split=split,
        text_encoder=text_encoder,
    )
