"""Patient-level train/val/test splits, stratified on in-hospital mortality.

All stays of a patient go to the same split (EMERGE's released code splits by stay, which lets a
patient's other stays leak into the test set). Patients are stratified on whether any of their
stays ends in death, so each split keeps the cohort's mortality rate. Written with numpy rather
than scikit-learn's `train_test_split` because that refuses strata with fewer than two patients,
which small cohorts (the demo, tests) always have; here each stratum is shuffled with the seed and
cut at the rounded cumulative fractions.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from emerge.data.config import SplitConfig

__all__ = ["assign_splits", "split_patients"]


def split_patients(subject_ids: np.ndarray, strata: np.ndarray, config: SplitConfig) -> dict[int, str]:
    """Map each subject to "train" / "val" / "test".

    subject_ids: [P] unique ids; strata: [P] stratum of each (e.g. 0/1 any death).
    Within a stratum of n patients, the first round(n*train) shuffled patients are train, the next
    round(n*(train+val)) - round(n*train) val, the rest test. Deterministic for a seed.
    """
    rng = np.random.default_rng(config.seed)
    out: dict[int, str] = {}
    order = np.argsort(subject_ids, kind="stable")  # independent of input order
    subject_ids, strata = subject_ids[order], strata[order]
    for stratum in np.unique(strata):
        members = subject_ids[strata == stratum]
        members = members[rng.permutation(len(members))]
        n = len(members)
        cut_train = int(round(n * config.train))
        cut_val = int(round(n * (config.train + config.val)))
        for i, sid in enumerate(members.tolist()):
            out[sid] = "train" if i < cut_train else ("val" if i < cut_val else "test")
    return out


def assign_splits(cohort: pl.DataFrame, config: SplitConfig) -> pl.DataFrame:
    """Add a `split` column to `cohort` (needs subject_id and mortality_inhospital)."""
    per_patient = cohort.group_by("subject_id").agg(pl.col("mortality_inhospital").max().alias("y"))
    mapping = split_patients(per_patient["subject_id"].to_numpy(), per_patient["y"].to_numpy(), config)
    table = pl.DataFrame(
        {"subject_id": list(mapping), "split": list(mapping.values())},
        schema={"subject_id": pl.Int64, "split": pl.String},
    )
    return cohort.join(table, on="subject_id", how="left", maintain_order="left")
