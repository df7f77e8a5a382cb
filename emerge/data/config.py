"""Settings of one EHR dataset build: which MIMIC, which cohort, which labels, which window.

Every rule EMERGE applies is an option here with EMERGE's value as the default, so a study that
wants another cohort (children included, 24 h window, PyHealth's 15-day readmission, ...) changes
a field, and the build cache (keyed by a hash of these settings) never reuses a stale result.
A `BuildConfig` is frozen and validated when built; `from_yaml` reads one from a YAML file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from foundation.config_io import load_config

__all__ = [
    "CohortRules",
    "LabelConfig",
    "SplitConfig",
    "BuildConfig",
    "ReadmissionDefinition",
    "ReadmissionDeath",
    "NoteTableIV",
]

ReadmissionDefinition = Literal["icu_or_death", "icu", "hospital"]
ReadmissionDeath = Literal["in_hospital", "date_of_death"]
NoteTableIV = Literal["radiology", "discharge"]


class CohortRules(BaseModel):
    """Which ICU stays enter the cohort (EMERGE / MIMIC-III benchmark defaults)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_age: float = Field(18, ge=0, description="Adults only: age at ICU admission >= min_age years.")
    one_stay_per_admission: bool = Field(True, description="Drop admissions with more than one ICU stay.")
    exclude_icu_transfers: bool = Field(
        True, description="Drop stays whose first and last care unit (and ward, in MIMIC-III) differ."
    )
    min_icu_hours: float = Field(48, ge=0, description="Drop stays shorter than this (outtime - intime).")
    require_notes: bool = Field(
        False,
        description="Drop stays without a note among the notes the build keeps (EMERGE keeps only stays "
        "with notes and time series). Off by default so that a build without a note module works; "
        "the shipped MIMIC experiments turn it on. Counted as the `no_notes` exclusion.",
    )


class LabelConfig(BaseModel):
    """How the two outcomes are defined.

    readmission:
      - "icu_or_death" (EMERGE): another ICU stay of the patient starting within `readmission_days`
        of this stay's ICU discharge, OR death within `readmission_days` of ICU discharge.
      - "icu": another ICU stay within `readmission_days` of ICU discharge only.
      - "hospital" (PyHealth, which uses 15 days): another hospital admission starting within
        `readmission_days` of this admission's hospital discharge.
    readmission_death (the death term of "icu_or_death"):
      - "in_hospital" (EMERGE's preprocessing): the stay's admission's `deathtime`, the in-hospital
        death time; a death after the hospital discharge does not count.
      - "date_of_death": `deathtime`, else the patient's date of death (patients.dod / DOD), which
        also records deaths after discharge (MIMIC-IV: up to one year after the last discharge).
    The cohort column keeps the name `readmission_30d` whatever the window, so downstream code
    does not change; the window is recorded in dataset.json.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    readmission: ReadmissionDefinition = "icu_or_death"
    readmission_days: float = Field(30, gt=0)
    readmission_death: ReadmissionDeath = "in_hospital"


class SplitConfig(BaseModel):
    """Patient-level split fractions (stratified on in-hospital mortality) and the seed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.1, ge=0, lt=1)
    test: float = Field(0.2, gt=0, lt=1)
    seed: int = 42

    @model_validator(mode="after")
    def _sum_to_one(self) -> SplitConfig:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"split fractions train+val+test must sum to 1, got {total:.4f} "
                f"({self.train}/{self.val}/{self.test})"
            )
        return self


class BuildConfig(BaseModel):
    """Everything that determines the output of `emerge data build` (and hence its cache key)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal["iii", "iv"] = "iv"
    cohort: CohortRules = CohortRules()
    labels: LabelConfig = LabelConfig()
    splits: SplitConfig = SplitConfig()
    window_hours: int = Field(48, gt=0, description="Observation window from ICU intime.")
    bin_hours: int = Field(1, gt=0, description="Width of one time step.")
    include_discharge_notes: bool = Field(
        False, description="Add discharge summaries (written after the window: leaks into 48 h tasks)."
    )
    note_tables_iv: tuple[NoteTableIV, ...] = Field(
        ("radiology", "discharge"),
        min_length=1,
        description="MIMIC-IV-Note tables to read (EMERGE's MIMIC-IV text: discharge only).",
    )
    note_categories_iii: tuple[str, ...] | None = Field(
        None, description="MIMIC-III NOTEEVENTS categories to keep (None: all but 'Discharge summary')."
    )
    normalizer_path: Path | None = Field(
        None, description="Re-use a saved normalizer.json (e.g. from another dataset) instead of fitting one."
    )

    @field_validator("note_tables_iv")
    @classmethod
    def _distinct_tables(cls, tables: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(tables)) < len(tables):
            raise ValueError(f"note_tables_iv lists a table twice: {list(tables)}; list each once")
        return tables

    @model_validator(mode="after")
    def _consistent(self) -> BuildConfig:
        if self.window_hours % self.bin_hours:
            raise ValueError(
                f"window_hours={self.window_hours} is not a multiple of bin_hours={self.bin_hours}"
            )
        if self.version == "iv" and self.include_discharge_notes and "discharge" not in self.note_tables_iv:
            raise ValueError(
                f"include_discharge_notes is on but note_tables_iv={list(self.note_tables_iv)} leaves "
                "out the discharge table; add discharge to note_tables_iv or turn include_discharge_notes off"
            )
        return self

    @property
    def steps(self) -> int:
        """Number of time steps T of the time series (48 with the defaults)."""
        return self.window_hours // self.bin_hours

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: object) -> BuildConfig:
        """Read a config from YAML; `overrides` (e.g. version from the CLI) win over the file."""
        return load_config(
            cls, path, "build config", overrides=overrides, hint="pass an existing YAML file to --config"
        )
