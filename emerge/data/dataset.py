"""`EHRDataset`: a built dataset folder (see `emerge.data.build`) loaded for downstream stages.

Holds the cohort (splits and the outcome columns), the feature tensors and the notes. The one path
to training: `model_ready(tasks, notes=..., summary=...)` hands the tensors over as a validated
`emerge.training.ModelReadyData` (keys x, x_mask, notes, notes_mask, summary, summary_mask, y,
stay_id), whose rows become the model's batches. `notes_by_stay()` groups the notes once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl
from safetensors.numpy import load_file

from emerge.data.build import DATASET_FILE, DATASET_KIND, DATASET_VERSION
from emerge.data.normalize import Normalizer
from foundation.artifacts import read_config
from foundation.errors import ArtifactError, UserInputError
from foundation.inputs import reading
from foundation.outputs import check_whole

if TYPE_CHECKING:
    from emerge.text.embed import StayEmbeddings
    from emerge.training.data import ModelReadyData

__all__ = ["EHRDataset"]

Split = Literal["train", "val", "test"]


class EHRDataset:
    """A built EHR dataset: x [N, T, 61] float32, x_mask [N, T, 17] uint8 (observed values), stay_id [N],
    the cohort table and the notes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        check_whole(
            self.path, DATASET_KIND, "dataset", f"build it again with `emerge data build --out {self.path}`"
        )
        self.info = read_config(self.path, DATASET_KIND, DATASET_VERSION, name=DATASET_FILE)
        rebuild = f"build it again with `emerge data build --out {self.path}`"
        with reading(self.path / "cohort.parquet", "dataset table", rebuild, ours=True):
            self.cohort = pl.read_parquet(self.path / "cohort.parquet")
        with reading(self.path / "features.safetensors", "dataset features", rebuild, ours=True):
            tensors = load_file(str(self.path / "features.safetensors"))
        self.x, self.x_mask, self.stay_id = tensors["x"], tensors["mask"], tensors["stay_id"]
        if not np.array_equal(self.stay_id, self.cohort["stay_id"].to_numpy()):
            raise ArtifactError(
                f"{self.path}: features.safetensors and cohort.parquet list different stays; "
                f"the folder was modified after the build: build it again"
            )
        self._notes: pl.DataFrame | None = None
        self._notes_by_stay: dict[int, list[str]] | None = None

    def __len__(self) -> int:
        return len(self.stay_id)

    def labels(self, task: str) -> np.ndarray:
        """[N] float32 labels of a registered task (`emerge.tasks`), in cohort order; NaN = unknown."""
        from emerge.tasks import get_task

        y = np.asarray(get_task(task).labels(self.cohort), dtype=np.float32)
        if y.shape != (len(self),):
            raise UserInputError(f"task {task!r} returned labels of shape {y.shape}, expected ({len(self)},)")
        return y

    def model_ready(
        self,
        tasks: Sequence[str],
        notes: StayEmbeddings | None = None,
        summary: StayEmbeddings | None = None,
        text_encoder: str | None = None,
    ) -> ModelReadyData:
        """The model's input: time series, masks, splits, one label column per task, and the note /
        summary chunk embeddings when given (they must list the dataset's stays in cohort order)."""
        import torch

        from emerge.training.data import ModelReadyData

        def aligned(name: str, emb: StayEmbeddings | None) -> tuple:
            if emb is None:
                return None, None
            if not np.array_equal(emb.stay_ids, self.stay_id):
                raise UserInputError(
                    f"{name} embeddings list other stays (or another order) than the dataset "
                    f"{self.path}; embed the dataset's stays in cohort order"
                )
            return torch.from_numpy(emb.emb), torch.from_numpy(emb.mask)

        tasks = tuple(dict.fromkeys(tasks))
        notes_t, notes_m = aligned("notes", notes)
        summary_t, summary_m = aligned("summary", summary)
        y = np.stack([self.labels(t) for t in tasks], axis=1)  # [N, K]
        return ModelReadyData(
            x=torch.from_numpy(np.ascontiguousarray(self.x, dtype=np.float32)),
            x_mask=torch.from_numpy(np.ascontiguousarray(self.x_mask, dtype=np.uint8)),
            y=torch.from_numpy(y),
            tasks=tasks,
            stay_id=torch.from_numpy(self.stay_id.astype(np.int64)),
            split=self.cohort["split"].to_numpy().astype(str),
            notes=notes_t,
            notes_mask=notes_m,
            summary=summary_t,
            summary_mask=summary_m,
            text_encoder=text_encoder,
        )

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
            with reading(self.path / "notes.parquet", "dataset notes", "build the dataset again", ours=True):
                self._notes = pl.read_parquet(self.path / "notes.parquet")
        return self._notes

    def notes_by_stay(self) -> dict[int, list[str]]:
        """stay_id -> the texts of its notes in time order (grouped once; stays without notes absent)."""
        if self._notes_by_stay is None:
            grouped = self.notes.group_by("stay_id", maintain_order=True).agg(pl.col("text"))
            self._notes_by_stay = dict(
                zip(grouped["stay_id"].to_list(), grouped["text"].to_list(), strict=True)
            )
        return self._notes_by_stay

    def timeseries(self) -> pl.DataFrame:
        """The raw hourly values and observed flags (before normalization)."""
        return pl.read_parquet(self.path / "timeseries.parquet")

    def normalizer(self) -> Normalizer:
        """The statistics the features were scaled with."""
        return Normalizer.load(self.path / "normalizer.json")
