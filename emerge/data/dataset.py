"""`EHRDataset`: a built dataset folder (see `emerge.data.build`) loaded for downstream stages.

Holds the cohort (labels, splits), the feature tensors and the notes; `split("train")` gives the
row indices of a split and `__getitem__` one stay's tensors and labels, so it plugs straight into
a torch `DataLoader` (use `torch.utils.data.Subset(ds, ds.split("train"))`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import torch
from safetensors.numpy import load_file
from torch.utils.data import Dataset

from emerge.data.build import DATASET_FILE, DATASET_KIND, DATASET_VERSION
from emerge.data.normalize import Normalizer
from foundation.artifacts import read_config
from foundation.errors import ArtifactError, UserInputError
from foundation.inputs import reading
from foundation.outputs import check_whole

__all__ = ["EHRDataset"]

Split = Literal["train", "val", "test"]


class EHRDataset(Dataset):
    """A built EHR dataset. Item i: x [T, 61] float32, mask [T, 17] uint8, stay_id, two labels."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        check_whole(self.path, DATASET_KIND, "dataset", f"build it again with `emerge data build --out {self.path}`")
        self.info = read_config(self.path, DATASET_KIND, DATASET_VERSION, name=DATASET_FILE)
        with reading(self.path / "cohort.parquet", "dataset table"):
            self.cohort = pl.read_parquet(self.path / "cohort.parquet")
        with reading(self.path / "features.safetensors", "dataset features"):
            tensors = load_file(str(self.path / "features.safetensors"))
        self.x, self.mask, self.stay_id = tensors["x"], tensors["mask"], tensors["stay_id"]
        if not np.array_equal(self.stay_id, self.cohort["stay_id"].to_numpy()):
            raise ArtifactError(f"{self.path}: features.safetensors and cohort.parquet list different stays; "
                                f"the folder was modified after the build: build it again")
        self.mortality = self.cohort["mortality_inhospital"].to_numpy().astype(np.float32)
        self.readmission = self.cohort["readmission_30d"].to_numpy().astype(np.float32)
        self._notes: pl.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.stay_id)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": torch.from_numpy(self.x[i]), "mask": torch.from_numpy(self.mask[i]),
                "stay_id": torch.tensor(self.stay_id[i]), "mortality": torch.tensor(self.mortality[i]),
                "readmission": torch.tensor(self.readmission[i])}

    @property
    def feature_names(self) -> list[str]:
        """The 61 column names of x, in order."""
        return list(self.info["feature_names"])

    @property
    def variables(self) -> list[str]:
        """The 17 variable names of mask's last axis, in order."""
        return list(self.info["variables"])

    def split(self, name: Split) -> np.ndarray:
        """Row indices [n] of the stays in split `name`."""
        if name not in ("train", "val", "test"):
            raise UserInputError(f"unknown split {name!r}; valid: train, val, test")
        return np.flatnonzero((self.cohort["split"] == name).to_numpy())

    @property
    def notes(self) -> pl.DataFrame:
        """All notes (stay_id, note_id, note_type, charttime, hours_from_intime, text, ...), loaded once."""
        if self._notes is None:
            with reading(self.path / "notes.parquet", "dataset notes"):
                self._notes = pl.read_parquet(self.path / "notes.parquet")
        return self._notes

    def notes_of(self, stay_id: int) -> list[str]:
        """Texts of one stay's notes in time order."""
        return self.notes.filter(pl.col("stay_id") == stay_id)["text"].to_list()

    def timeseries(self) -> pl.DataFrame:
        """The raw hourly values and observed flags (before normalization)."""
        return pl.read_parquet(self.path / "timeseries.parquet")

    def normalizer(self) -> Normalizer:
        """The statistics the features were scaled with."""
        return Normalizer.load(self.path / "normalizer.json")
