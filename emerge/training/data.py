"""The model-ready data contract between the data pipeline and training.

`ModelReadyData` holds, for N ICU stays (all tensors on CPU):

    x             [N, T, F] float32  time series, normalized and imputed (T = 48; F = 61 for the 17
                                     benchmark variables: 47 one-hot + 12 numeric + sex + age)
    x_mask        [N, T, V] uint8    observed-value indicators (V = 17); optional
    notes         [N, Tn, D] float32 chunk embeddings of the notes written inside the window; optional
    notes_mask    [N, Tn] bool       True = real chunk; a stay without notes has an all-False row
    summary       [N, Ts, D] float32 chunk embeddings of the RAG summary; optional
    summary_mask  [N, Ts] bool
    y             [N, K] float32     one column per task in `tasks` (0, 1, or NaN = label unknown)
    tasks         K names            the tasks of y's columns, e.g. ("mortality", "readmission")
    stay_id       [N] int64          unique
    split         [N] str            "train" / "val" / "test" (patient-level, decided upstream)
    text_encoder  str | None         name of the encoder that made notes / summary (cache key check)

Every field is validated when the object is built: shapes agree, values are finite, labels are
0/1/NaN, ids are unique, splits are known. `save(dir)` writes `tensors.safetensors` and a
versioned `config.json` (kind "emerge_model_ready", format_version 1); `load(dir)` checks both.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emerge.models.config import InputDims
from foundation.artifacts import read_config, write_config
from foundation.errors import UserInputError
from foundation.inputs import reading
from foundation.outputs import cached_step, check_whole

__all__ = ["SPLITS", "ModelReadyData", "KIND", "FORMAT_VERSION"]

SPLITS: tuple[str, ...] = ("train", "val", "test")
KIND = "emerge_model_ready"
FORMAT_VERSION = 2  # 2: y's columns are named by `tasks` (1: always mortality, readmission)
TENSORS_FILE = "tensors.safetensors"
_TEXT = ("notes", "summary")


def _first_bad(bad: torch.Tensor, stay_id: torch.Tensor) -> str:
    rows = bad.reshape(bad.shape[0], -1).any(dim=1)
    return f"{int(rows.sum())} stay(s), first stay_id {int(stay_id[rows.nonzero()[0, 0]])}"


@dataclass(frozen=True)
class ModelReadyData:
    x: torch.Tensor
    y: torch.Tensor
    stay_id: torch.Tensor
    split: np.ndarray
    tasks: tuple[str, ...] = ("mortality", "readmission")
    x_mask: torch.Tensor | None = None
    notes: torch.Tensor | None = None
    notes_mask: torch.Tensor | None = None
    summary: torch.Tensor | None = None
    summary_mask: torch.Tensor | None = None
    text_encoder: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.x.ndim != 3:
            raise UserInputError(f"x must be [N, T, F], got shape {tuple(self.x.shape)}.")
        n = self.x.shape[0]
        if n == 0:
            raise UserInputError("the model-ready data holds no stays; check the cohort filters.")
        if self.stay_id.shape != (n,):
            raise UserInputError(f"stay_id must be [N={n}], got {tuple(self.stay_id.shape)}.")
        if torch.unique(self.stay_id).numel() != n:
            raise UserInputError("stay_id holds duplicates; each row must be one ICU stay.")
        if not torch.isfinite(self.x).all():
            raise UserInputError(
                f"x holds NaN or inf in {_first_bad(~torch.isfinite(self.x), self.stay_id)}; "
                "the time series must be imputed and normalized before training."
            )
        object.__setattr__(self, "tasks", tuple(self.tasks))
        if not self.tasks or len(set(self.tasks)) != len(self.tasks):
            raise UserInputError(f"tasks must name y's columns once each, got {self.tasks}.")
        if self.y.shape != (n, len(self.tasks)):
            raise UserInputError(
                f"y must be [N={n}, {len(self.tasks)}] (columns {self.tasks}), got {tuple(self.y.shape)}."
            )
        known = self.y[~torch.isnan(self.y)]
        if not ((known == 0) | (known == 1)).all():
            raise UserInputError(
                f"y must hold 0, 1 or NaN (unknown), found {torch.unique(known)[:5].tolist()}."
            )
        split = np.asarray(self.split).astype(str)
        object.__setattr__(self, "split", split)
        if split.shape != (n,):
            raise UserInputError(f"split must be [N={n}], got {split.shape}.")
        unknown = sorted(set(split.tolist()) - set(SPLITS))
        if unknown:
            raise UserInputError(f"split holds {unknown}; expected only {list(SPLITS)}.")
        if self.x_mask is not None and self.x_mask.shape[:2] != self.x.shape[:2]:
            raise UserInputError(
                f"x_mask must be [N, T, V] with N, T of x {tuple(self.x.shape[:2])}, "
                f"got {tuple(self.x_mask.shape)}."
            )
        dims = set()
        for key in _TEXT:
            chunks, mask = getattr(self, key), getattr(self, f"{key}_mask")
            if (chunks is None) != (mask is None):
                raise UserInputError(f"{key} and {key}_mask must be given together (one of them is None).")
            if chunks is None:
                continue
            if chunks.ndim != 3 or chunks.shape[0] != n or mask.shape != chunks.shape[:2]:
                raise UserInputError(
                    f"{key} must be [N={n}, T, D] with {key}_mask [N, T]; "
                    f"got {tuple(chunks.shape)} and {tuple(mask.shape)}."
                )
            if not torch.isfinite(chunks).all():
                raise UserInputError(
                    f"{key} holds NaN or inf in {_first_bad(~torch.isfinite(chunks), self.stay_id)}; "
                    "re-run the embedding step (pad missing chunks with zeros, not NaN)."
                )
            dims.add(chunks.shape[2])
            object.__setattr__(self, f"{key}_mask", mask.bool())
        if len(dims) > 1:
            raise UserInputError(
                f"notes and summary embeddings differ in width {sorted(dims)}; embed both with one encoder."
            )

    # ----------------------------------------------------------------------------------- views
    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def modalities(self) -> frozenset[str]:
        """The text inputs present: a subset of {"notes", "summary"}."""
        return frozenset(k for k in _TEXT if getattr(self, k) is not None)

    @property
    def dims(self) -> InputDims:
        text = self.notes if self.notes is not None else self.summary
        return InputDims(
            ts_features=self.x.shape[2],
            steps=self.x.shape[1],
            obs_mask_features=0 if self.x_mask is None else self.x_mask.shape[2],
            text_dim=0 if text is None else text.shape[2],
        )

    def labels(self, task: str) -> torch.Tensor:
        """[N] labels of one task (NaN = unknown)."""
        if task not in self.tasks:
            raise UserInputError(
                f"the data holds labels for {list(self.tasks)}, not {task!r}; build it with "
                "that task (`EHRDataset.model_ready(tasks=...)`)"
            )
        return self.y[:, self.tasks.index(task)]

    def split_indices(self, split: str) -> np.ndarray:
        if split not in SPLITS:
            raise UserInputError(f"unknown split {split!r}; expected one of {list(SPLITS)}.")
        return np.flatnonzero(self.split == split)

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor field by name (the keys a model batch uses), absent ones left out."""
        names = ("x", "x_mask", "notes", "notes_mask", "summary", "summary_mask", "y", "stay_id")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}

    def check_text_encoder(self, expected: str | None) -> None:
        """Raise if the embeddings were made by another encoder than `expected` (None: no check)."""
        if expected is not None and self.modalities and self.text_encoder != expected:
            raise UserInputError(
                f"the note / summary embeddings were made by {self.text_encoder!r} but the config names "
                f"{expected!r}; re-embed the text with {expected!r} or change the config."
            )

    def fingerprint(self, modalities: Iterable[str] | None = None) -> str:
        """Hash of the tensors, the splits and the encoder name: the identity of this data set.

        `modalities` (a subset of {"notes", "summary"}) restricts the hash to the time series, labels and
        those text inputs: the identity of the data a model that reads only them sees, so adding summary
        embeddings does not make a finished time-series-only run look stale. None hashes everything.
        """
        text = ("notes", "summary") if modalities is None else tuple(sorted(modalities))
        keep = {"x", "x_mask", "y", "stay_id", *text, *(f"{m}_mask" for m in text)}
        h = hashlib.blake2b(digest_size=12)
        for name, t in sorted(self.tensors().items()):
            if name not in keep:
                continue
            h.update(name.encode())
            h.update(str(tuple(t.shape)).encode())
            h.update(t.contiguous().numpy().tobytes())
        h.update("|".join(self.split.tolist()).encode())
        h.update("|".join(self.tasks).encode())
        if any(m in self.modalities for m in text):
            h.update(str(self.text_encoder).encode())
        return h.hexdigest()

    # ----------------------------------------------------------------------------- persistence
    def save(self, directory: str | os.PathLike) -> Path:
        """Write tensors.safetensors and config.json into `directory` (new, empty, or one emerge wrote)."""
        from safetensors.torch import save_file

        def write(folder: Path) -> dict:
            tensors = {k: v.contiguous() for k, v in self.tensors().items()}
            codes = {name: i for i, name in enumerate(SPLITS)}
            tensors["split_code"] = torch.tensor([codes[s] for s in self.split.tolist()], dtype=torch.int8)
            save_file(tensors, str(folder / TENSORS_FILE))
            write_config(
                folder,
                KIND,
                FORMAT_VERSION,
                {
                    "n": self.n,
                    "tasks": list(self.tasks),
                    "splits": list(SPLITS),
                    "text_encoder": self.text_encoder,
                    "dims": self.dims.model_dump(),
                    "modalities": sorted(self.modalities),
                    "meta": self.meta,
                },
            )
            return {"n": self.n}

        return cached_step(directory, KIND, FORMAT_VERSION, None, write, force=True, what="data folder").path

    @classmethod
    def load(cls, directory: str | os.PathLike) -> ModelReadyData:
        from safetensors.torch import load_file

        directory = Path(directory)
        check_whole(directory, KIND, "model-ready data folder")
        config = read_config(directory, KIND, FORMAT_VERSION)
        if tuple(config["splits"]) != SPLITS:
            raise UserInputError(
                f"{directory} was written for splits {config['splits']}; "
                f"this code expects {list(SPLITS)}. Rebuild it."
            )
        with reading(directory / TENSORS_FILE, "model-ready tensors", ours=True):
            t = load_file(str(directory / TENSORS_FILE))
        split = np.array(SPLITS)[t.pop("split_code").numpy().astype(np.int64)]
        return cls(
            split=split,
            tasks=tuple(config["tasks"]),
            text_encoder=config.get("text_encoder"),
            meta=config.get("meta", {}),
            **t,
        )
