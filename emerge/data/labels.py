"""Outcome labels of each cohort stay: in-hospital mortality and 30-day readmission.

- `mortality_inhospital`: the admission's `hospital_expire_flag` (1 = died between admission and
  discharge); where the flag is empty, a `deathtime` inside [admittime, dischtime].
- `readmission_30d`, by `LabelConfig.readmission` (window `readmission_days`, default 30):
  - "icu_or_death" (EMERGE): another ICU stay of the same patient (any stay in icustays, also ones
    outside the cohort) starting after this stay's ICU outtime and within the window, OR death no
    later than outtime + window (also a death in the ICU, as in EMERGE's preprocessing). The death
    is, by `LabelConfig.readmission_death`: "in_hospital" (EMERGE) the admission's deathtime only;
    "date_of_death" the deathtime, else the patient's date of death (deaths after discharge too).
  - "icu": only the ICU readmission part.
  - "hospital" (PyHealth's definition, 15 days there): another hospital admission of the patient
    starting after this admission's dischtime and within the window.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from emerge.data.config import LabelConfig

__all__ = ["add_labels"]


def _any_within(cohort: pl.DataFrame, others: pl.DataFrame, ref: str, start: str, days: float) -> pl.Series:
    """Per cohort row: does `others` hold a row of the same subject with ref < start <= ref + days?"""
    window = timedelta(days=days)
    hits = (
        cohort.select("stay_id", "subject_id", ref)
        .join(others.select("subject_id", pl.col(start).alias("_start")), on="subject_id", how="inner")
        .filter((pl.col("_start") > pl.col(ref)) & (pl.col("_start") <= pl.col(ref) + window))
        .select("stay_id")
        .unique()
    )
    return cohort["stay_id"].is_in(hits["stay_id"].implode())


def add_labels(
    cohort: pl.DataFrame, icustays: pl.DataFrame, admissions: pl.DataFrame, config: LabelConfig
) -> pl.DataFrame:
    """Add `mortality_inhospital` and `readmission_30d` (Int8, 0/1) to `cohort` (see module docs)."""
    died_inside = (
        pl.col("deathtime").is_not_null()
        & (pl.col("deathtime") >= pl.col("admittime"))
        & (pl.col("deathtime") <= pl.col("dischtime"))
    )
    mortality = pl.coalesce(pl.col("hospital_expire_flag"), died_inside.cast(pl.Int64)).cast(pl.Int8)
    cohort = cohort.with_columns(mortality_inhospital=mortality)

    if config.readmission == "hospital":
        readmit = _any_within(cohort, admissions, "dischtime", "admittime", config.readmission_days)
    else:
        readmit = _any_within(
            cohort,
            icustays.filter(pl.col("intime").is_not_null()),
            "outtime",
            "intime",
            config.readmission_days,
        )
        if config.readmission == "icu_or_death":
            when = (
                pl.col("deathtime")
                if config.readmission_death == "in_hospital"
                else pl.coalesce("deathtime", "dod")
            )
            death = cohort.select(when.alias("t"), "outtime")
            died = death.select(
                (
                    pl.col("t").is_not_null()
                    & (pl.col("t") <= pl.col("outtime") + timedelta(days=config.readmission_days))
                ).alias("d")
            )["d"]
            readmit = readmit | died
    return cohort.with_columns(readmission_30d=readmit.cast(pl.Int8))
