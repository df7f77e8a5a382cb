"""Labels of the written cohort, derived from the tables alone (as a reader must derive them).

`stay_outcomes` marks the stays EMERGE would include (adult at admission, the admission's only ICU
stay, no ICU transfer, ICU stay >= 48 h) and computes in-hospital mortality
(admissions.hospital_expire_flag) and EMERGE's 30-day readmission: another ICU stay of the same
patient starting within 30 days of this stay's ICU outtime, or death (deathtime, else patients.dod)
within 30 days of it. The summary rates and `truth/stay_outcomes.parquet` come from here.
"""

from __future__ import annotations

import polars as pl

__all__ = ["stay_outcomes"]


def stay_outcomes(patients: pl.DataFrame, admissions: pl.DataFrame, icustays: pl.DataFrame) -> pl.DataFrame:
    """One row per ICU stay: stay_id, subject_id, hadm_id, age, included, mortality_inhospital,
    readmission_30d (both Int8 0/1)."""
    window = pl.duration(days=30)
    df = (
        icustays.join(
            admissions.select("hadm_id", "admittime", "deathtime", "hospital_expire_flag"), on="hadm_id"
        )
        .join(patients.select("subject_id", "anchor_age", "anchor_year", "dod"), on="subject_id")
        .sort("subject_id", "intime")
        .with_columns(
            age=pl.col("anchor_age") + pl.col("admittime").dt.year() - pl.col("anchor_year"),
            n_icu=pl.len().over("hadm_id"),
            next_intime=pl.col("intime").shift(-1).over("subject_id"),
            death=pl.coalesce(pl.col("deathtime"), pl.col("dod").cast(pl.Datetime("us"))),
        )
    )
    return df.select(
        "stay_id",
        "subject_id",
        "hadm_id",
        "age",
        included=(pl.col("age") >= 18)
        & (pl.col("n_icu") == 1)
        & (pl.col("first_careunit") == pl.col("last_careunit"))
        & (pl.col("los") >= 2.0),
        mortality_inhospital=pl.col("hospital_expire_flag").cast(pl.Int8),
        readmission_30d=(
            ((pl.col("next_intime") - pl.col("outtime")) <= window).fill_null(False)
            | ((pl.col("death") - pl.col("outtime")) <= window).fill_null(False)
        ).cast(pl.Int8),
    ).sort("stay_id")
