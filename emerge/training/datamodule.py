"""`EmergeDataModule`: owns the train / val / test splits of a `ModelReadyData` and their loaders.

Checks up front (before any training starts) that every split holds stays, and that the train
and validation splits hold both classes of the monitored task, since early stopping on a
validation AUPRC with no positive stay would select checkpoints at random.
"""

from __future__ import annotations

import logging

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from emerge.training.data import SPLITS, ModelReadyData
from foundation.errors import UserInputError

__all__ = ["StayDataset", "EmergeDataModule"]

logger = logging.getLogger(__name__)


class StayDataset(Dataset):
    """Rows `indices` of a `ModelReadyData`; an item is a dict of tensors (y restricted to the tasks)."""

    def __init__(
        self, data: ModelReadyData, indices: np.ndarray, tasks: tuple[str, ...], keys: tuple[str, ...]
    ):
        self.indices = torch.as_tensor(indices, dtype=torch.long)
        tensors = data.tensors()
        self.tensors = {k: tensors[k] for k in keys}
        self.tensors["y"] = torch.stack([data.labels(t) for t in tasks], dim=1)  # [N, K] in `tasks` order
        self.tensors["stay_id"] = data.stay_id

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        row = self.indices[i]
        return {k: v[row] for k, v in self.tensors.items()}


class EmergeDataModule(L.LightningDataModule):
    def __init__(
        self,
        data: ModelReadyData,
        tasks: tuple[str, ...],
        main_task: str,
        modalities: frozenset[str] = frozenset(),
        batch_size: int = 256,
        num_workers: int = 0,
        use_obs_mask: bool = True,
    ):
        super().__init__()
        missing = sorted(set(modalities) - data.modalities)
        if missing:
            raise UserInputError(
                f"the model reads {missing} but the model-ready data has only "
                f"{sorted(data.modalities) or 'no text'}; build the data with those embeddings or choose a "
                "variant that does not read them (e.g. ts_only)."
            )
        keys = ["x"] + (["x_mask"] if use_obs_mask and data.x_mask is not None else [])
        for m in sorted(modalities):
            keys += [m, f"{m}_mask"]
        self.data, self.tasks, self.main_task = data, tasks, main_task
        self.keys = tuple(keys)
        self.batch_size, self.num_workers = batch_size, num_workers
        self.indices = {s: data.split_indices(s) for s in SPLITS}
        self._check_splits()

    def _check_splits(self) -> None:
        labels = self.data.labels(self.main_task)
        for split, idx in self.indices.items():
            if idx.size == 0:
                raise UserInputError(
                    f"the {split} split holds no stays; every split of train/val/test needs stays."
                )
            if split == "test":
                continue
            y = labels[idx]
            y = y[~torch.isnan(y)]
            if y.numel() == 0 or y.sum() == 0 or y.sum() == y.numel():
                missing = "positive" if y.numel() == 0 or y.sum() == 0 else "negative"
                raise UserInputError(
                    f"{'validation' if split == 'val' else 'training'} split has no {missing} stays for "
                    f"{self.main_task} ({int(y.numel())} labelled stays); use more stays or another split."
                )
        logger.debug("splits: %s", {s: int(i.size) for s, i in self.indices.items()})

    def dataset(self, split: str) -> StayDataset:
        return StayDataset(self.data, self.indices[split], self.tasks, self.keys)

    def loader(self, split: str, shuffle: bool = False) -> DataLoader:
        """The loader of one split (train, val or test)."""
        return DataLoader(
            self.dataset(split),
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self.loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self.loader("val", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        """The test split, in order: what `Trainer.predict` scores for the report."""
        return self.loader("test", shuffle=False)
