"""The ICU-stay cohort: which stays enter, with their patient's age and sex.

Rules (each a `CohortRules` option, EMERGE / MIMIC-III-benchmark defaults): stays with impossible
times are skipped (no intime/outtime, outtime not after intime); stays without an admission or a
patient row are skipped; then adults only (age at ICU intime >= min_age), admissions with exactly
one ICU stay, no transfer between ICU units during the stay, at least `min_icu_hours` in the ICU;
with `require_notes`, `drop_stays_without_notes` then drops the stays that have no note (after the
notes are read). Every rule's exclusion count is logged and returned so that `dataset.json` records it.

The three tables are checked when loaded: rows repeated exactly (on the columns we read) are
dropped and counted (`CohortTables.duplicate_rows`; icustays' also as the `duplicate_stay_id`
exclusion), so a repeated row never costs its stay; two different rows for one key (patients:
subject_id, admissions: hadm_id, icustays: stay_id) are a `UserInputError` naming the file and keys.

Age: MIMIC-IV gives `anchor_age` in `anchor_year`, so age = anchor_age + year(intime) - anchor_year.
MIMIC-III gives a date of birth, shifted by 300 years for patients older than 89; as in the
benchmark, such ages (>= 300) become 91.4.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import polars as pl

from emerge.data.config import BuildConfig
from emerge.data.sources import Sources, collect, parse_times
from foundation.errors import UserInputError

__all__ = [
    "CohortTables",
    "load_tables",
    "select_cohort",
    "drop_stays_without_notes",
    "TABLE_KEYS",
    "drop_duplicate_rows",
]

logger = logging.getLogger(__name__)

_YEAR_HOURS = 365.2425 * 24


TABLE_KEYS = {"patients": "subject_id", "admissions": "hadm_id", "icustays": "stay_id"}


@dataclass(frozen=True)
class CohortTables:
    """The three small tables every build reads whole: patients, admissions, ICU stays.

    Each key of `TABLE_KEYS` identifies one row of its table (checked here; `load_tables` gives a
    `UserInputError` naming the file first). duplicate_rows: exact repeated rows dropped per table.
    """

    patients: pl.DataFrame
    admissions: pl.DataFrame
    icustays: pl.DataFrame
    duplicate_rows: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, key in TABLE_KEYS.items():
            table = getattr(self, name)
            if table[key].drop_nulls().is_duplicated().any():
                raise ValueError(
                    f"{name} repeats values of {key}; pass one row per {key} "
                    f"(load_tables drops exact duplicates and refuses conflicting rows)"
                )


def drop_duplicate_rows(table: pl.DataFrame, key: str, what: str) -> tuple[pl.DataFrame, int]:
    """`table` without exactly repeated rows, and their count; different rows for one `key` value raise.

    what: the file, for the message. Null keys are left to the cohort rules.
    """
    unique = table.unique(maintain_order=True)
    repeated = unique.filter(pl.col(key).is_not_null() & pl.col(key).is_duplicated())
    if repeated.height:
        keys = repeated[key].unique(maintain_order=True)
        first = repeated.filter(pl.col(key) == keys[0])
        differ = [c for c in first.columns if first[c].n_unique() > 1]
        shown = ", ".join(str(k) for k in keys.head(5).to_list()) + (", ..." if keys.len() > 5 else "")
        raise UserInputError(
            f"{what} has different rows for the same {key} "
            f"({keys.len()} value{'s' if keys.len() > 1 else ''}: {shown}; the rows of {key} {keys[0]} "
            f"differ in {', '.join(differ)}); a {key} must identify one row. Keep one row per {key} "
            f"(fix or delete the others), or extract the file again."
        )
    return unique, table.height - unique.height


def _load(sources: Sources, name: str) -> tuple[pl.DataFrame, int]:
    what = sources.describe(name)
    frame = parse_times(sources.scan(name), sources.time_columns(name))
    table = collect(frame, what)
    if table.height == 0:
        raise UserInputError(
            f"{what} has a header but no rows; a cohort needs {name}. "
            f"Re-extract the file from the MIMIC download."
        )
    table, duplicates = drop_duplicate_rows(table, TABLE_KEYS[name], what)
    if duplicates:
        logger.warning("%s: %d exactly repeated rows dropped (counted as duplicate_rows)", what, duplicates)
    return table, duplicates


def load_tables(sources: Sources) -> CohortTables:
    """Read patients, admissions and icustays whole (they are small: ~300k rows in MIMIC-IV)."""
    loaded = {name: _load(sources, name) for name in TABLE_KEYS}
    return CohortTables(
        **{name: table for name, (table, _) in loaded.items()},
        duplicate_rows={name: n for name, (_, n) in loaded.items()},
    )


def _age_expr(version: str) -> pl.Expr:
    if version == "iv":
        return pl.col("anchor_age") + (pl.col("intime").dt.year() - pl.col("anchor_year"))
    years = (pl.col("intime") - pl.col("dob")).dt.total_hours() / _YEAR_HOURS
    return pl.when(years >= 300).then(pl.lit(91.4)).otherwise(years)


def select_cohort(tables: CohortTables, config: BuildConfig) -> tuple[pl.DataFrame, dict[str, int]]:
    """Apply the cohort rules; return (cohort, exclusion counts per rule).

    cohort columns: subject_id, hadm_id, stay_id, intime, outtime, age, sex ("M"/"F"), plus the
    admission columns the labels need (admittime, dischtime, deathtime, hospital_expire_flag, dod).
    """
    rules = config.cohort
    # exact repeats of icustays rows, dropped by load_tables: counted here too, so that the exclusions
    # add up to the rows of icustays minus the cohort
    counts: dict[str, int] = {"duplicate_stay_id": tables.duplicate_rows.get("icustays", 0)}
    stays = tables.icustays
    stays_in_table = stays.height

    def drop(frame: pl.DataFrame, keep: pl.Expr, reason: str) -> pl.DataFrame:
        kept = frame.filter(keep.fill_null(False))
        counts[reason] = frame.height - kept.height
        if counts[reason]:
            logger.info("cohort: %d stays excluded (%s)", counts[reason], reason)
        return kept

    stays = drop(stays, pl.col("stay_id").is_not_null(), "no_stay_id")
    stays = drop(
        stays,
        pl.col("intime").is_not_null()
        & pl.col("outtime").is_not_null()
        & (pl.col("outtime") > pl.col("intime")),
        "impossible_times",
    )
    stays = stays.join(tables.admissions.drop("subject_id"), on="hadm_id", how="left")
    stays = drop(stays, pl.col("admittime").is_not_null(), "no_admission")
    patient_cols = ["subject_id", "gender", "dod"] + (
        ["anchor_age", "anchor_year"] if config.version == "iv" else ["dob"]
    )
    stays = stays.join(tables.patients.select(patient_cols), on="subject_id", how="left")
    stays = drop(stays, pl.col("gender").is_not_null(), "no_patient")
    stays = stays.with_columns(
        age=_age_expr(config.version).cast(pl.Float64),
        sex=pl.col("gender").str.strip_chars().str.to_uppercase(),
    )
    stays = drop(stays, pl.col("sex").is_in(["M", "F"]), "unknown_sex")

    stays = drop(stays, pl.col("age") >= rules.min_age, "age_below_min")
    if rules.one_stay_per_admission:
        per_admission = tables.icustays.group_by("hadm_id").agg(
            n_stays=pl.col("stay_id").drop_nulls().n_unique()
        )
        stays = stays.join(per_admission, on="hadm_id", how="left")
        stays = drop(stays, pl.col("n_stays") == 1, "multiple_stays_in_admission").drop("n_stays")
    if rules.exclude_icu_transfers:
        same = pl.col("first_careunit").eq_missing(pl.col("last_careunit"))
        if "first_wardid" in stays.columns:
            same = same & pl.col("first_wardid").eq_missing(pl.col("last_wardid"))
        stays = drop(stays, same, "icu_transfer")
    hours = (pl.col("outtime") - pl.col("intime")).dt.total_seconds() / 3600
    stays = drop(stays, hours >= rules.min_icu_hours, "shorter_than_min_hours")

    cohort = stays.select(
        "subject_id",
        "hadm_id",
        "stay_id",
        "intime",
        "outtime",
        "age",
        "sex",
        "admittime",
        "dischtime",
        "deathtime",
        "hospital_expire_flag",
        "dod",
    ).sort("subject_id", "intime", "stay_id")
    logger.info(
        "cohort: %d of %d ICU stays kept (%d patients)",
        cohort.height,
        stays_in_table,
        cohort["subject_id"].n_unique(),
    )
    return cohort, counts


def drop_stays_without_notes(cohort: pl.DataFrame, notes: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The cohort rule `require_notes`: the stays with at least one note in `notes`, and how many were
    dropped (the `no_notes` exclusion). notes: `extract_notes`' output (stay_id column)."""
    kept = cohort.filter(pl.col("stay_id").is_in(notes["stay_id"].unique().implode()))
    dropped = cohort.height - kept.height
    if dropped:
        logger.info("cohort: %d stays excluded (no_notes)", dropped)
    return kept, dropped
