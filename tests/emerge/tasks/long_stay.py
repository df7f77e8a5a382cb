"""A task defined outside the package, in one small file: is the ICU stay longer than five days?"""

from __future__ import annotations

import numpy as np

from emerge.tasks import Task, register_task


class LongStay(Task):
    name = "long_icu_stay"
    summary_goal = "predicting whether the ICU stay will last longer than five days"
    positive_class = "ICU stay longer than 5 days"
    monitor = "auroc"

    def labels(self, cohort):
        hours = (cohort["outtime"] - cohort["intime"]).dt.total_hours().to_numpy()
        return (hours > 120).astype(np.float32)


LONG_STAY = register_task(LongStay())
