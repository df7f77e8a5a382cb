"""Assemble the fusion model's input (`ModelReadyData`) from a built EHR dataset and text embeddings."""

from __future__ import annotations

import numpy as np
import torch

from emerge.data.dataset import EHRDataset
from emerge.text.embed import StayEmbeddings
from emerge.training.data import ModelReadyData
from foundation.errors import UserInputError

__all__ = ["assemble_model_ready"]


def _aligned(name: str, emb: StayEmbeddings | None, stay_id: np.ndarray) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if emb is None:
        return None, None
    if not np.array_equal(emb.stay_ids, stay_id):
        raise UserInputError(f"{name} embeddings list other stays (or another order) than the dataset; "
                             "embed the dataset's stays in cohort order")
    return torch.from_numpy(emb.emb), torch.from_numpy(emb.mask)


def assemble_model_ready(dataset: EHRDataset, notes: StayEmbeddings | None = None,
                         summary: StayEmbeddings | None = None, text_encoder: str | None = None) -> ModelReadyData:
    """Time series, masks, labels and splits from `dataset`; notes / summary token sequences if given."""
    stay_id = np.asarray(dataset.stay_id, dtype=np.int64)
    notes_t, notes_m = _aligned("notes", notes, stay_id)
    summary_t, summary_m = _aligned("summary", summary, stay_id)
    y = np.stack([dataset.mortality, dataset.readmission], axis=1).astype(np.float32)  # [N, 2]
    return ModelReadyData(
        x=torch.from_numpy(np.ascontiguousarray(dataset.x, dtype=np.float32)),
        y=torch.from_numpy(y),
        stay_id=torch.from_numpy(stay_id),
        split=dataset.cohort["split"].to_numpy().astype(str),
        x_mask=torch.from_numpy(np.ascontiguousarray(dataset.mask, dtype=np.uint8)),
        notes=notes_t, notes_mask=notes_m, summary=summary_t, summary_mask=summary_m,
        text_encoder=text_encoder,
    )
