"""EMERGE's two outcomes. Their labels are built by the data build (`emerge.data.labels`): the
definitions (and the readmission options) are documented there and in docs/data.md."""

from __future__ import annotations

from emerge.tasks.base import ColumnTask
from emerge.tasks.registry import register_task

__all__ = ["Mortality", "Readmission"]


class Mortality(ColumnTask):
    name = "mortality"
    column = "mortality_inhospital"
    positive_class = "died between hospital admission and discharge"
    summary_goal = "predicting whether the patient will die during this hospital stay (in-hospital mortality)"


class Readmission(ColumnTask):
    name = "readmission"
    column = "readmission_30d"
    positive_class = "readmitted to the ICU, or died, within 30 days of ICU discharge (EMERGE's definition)"
    summary_goal = (
        "predicting whether the patient will be readmitted to the ICU or die within 30 days of "
        "ICU discharge (30-day readmission)"
    )


register_task(Mortality())
register_task(Readmission())
