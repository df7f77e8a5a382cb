"""What a prediction task is: a label built from the cohort, how the RAG summary should serve it, which
validation metric selects checkpoints, and what its positive class means.

A task is a small object (after PyHealth's task classes), so adding one means writing one class and
registering it (`emerge.tasks.register_task`); no other file changes:

    class LongStay(Task):
        name = "long_icu_stay"
        summary_goal = "predicting whether the ICU stay will last longer than five days"
        positive_class = "ICU stay longer than 5 days"

        def labels(self, cohort):
            hours = (cohort["outtime"] - cohort["intime"]).dt.total_hours().to_numpy()
            return (hours > 120).astype(np.float32)

    register_task(LongStay())

`cohort` is a built dataset's cohort table (`cohort.parquet`: subject_id, hadm_id, stay_id, intime,
outtime, age, sex, split and the outcome columns the data build computed).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import polars as pl

from foundation.errors import UserInputError

__all__ = ["Task", "ColumnTask"]


class Task:
    """A binary outcome per ICU stay. Subclasses set the class attributes and implement `labels`.

    Attributes:
        name: the task's name in configs and outputs ("mortality").
        summary_goal: completes "... a concise summary of the patient's health status that is informative
            for {summary_goal}" in EMERGE's summary prompt.
        positive_class: what label 1 means, for reports.
        monitor: the validation metric that selects checkpoints and stops training ("auprc": EMERGE's
            paper; "auroc": its released code), unless the trainer config names one.
    """

    name: ClassVar[str]
    summary_goal: ClassVar[str]
    positive_class: ClassVar[str]
    monitor: ClassVar[Literal["auprc", "auroc"]] = "auprc"

    def labels(self, cohort: pl.DataFrame) -> np.ndarray:
        """[N] float32 labels of the cohort's stays, in row order: 1, 0 or NaN (unknown)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<task {self.name}: {self.positive_class}>"


class ColumnTask(Task):
    """A task whose label the data build already computed as a cohort column (0/1, null = unknown)."""

    column: ClassVar[str]

    def labels(self, cohort: pl.DataFrame) -> np.ndarray:
        if self.column not in cohort.columns:
            raise UserInputError(
                f"task {self.name!r} reads the cohort column {self.column!r}, which the dataset "
                f"lacks (found: {cohort.columns}); build the dataset again with this version"
            )
        return cohort[self.column].cast(pl.Float32).fill_null(float("nan")).to_numpy().astype(np.float32)
