"""The MIMIC tables we read: where each lives in a version's layout and which of its columns.

`TABLES[version][name]` is a `TableSpec`: the file's path under the root without .csv/.csv.gz
(MIMIC-IV: `hosp/patients`; MIMIC-III: `PATIENTS`), its columns (source name -> our name and type;
our names are MIMIC-IV's lower-case ones, so `ICUSTAY_ID` becomes `stay_id`), whether a build needs
it, and whether it is a note table (looked up in the note folder: `emerge.data.sources`). Names are
matched ignoring case when the files are found and read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

__all__ = ["TableSpec", "TABLES", "Version", "TIME"]

Version = Literal["iii", "iv"]
I64, F64, STR, TIME = pl.Int64, pl.Float64, pl.String, "time"


@dataclass(frozen=True)
class TableSpec:
    """Where one table lives in a version's layout and which of its columns we read.

    columns: source column name -> (our column name, dtype); dtype "time" is read as text and parsed
        to a datetime after filtering (parsing 300M timestamps we then drop would be wasted work).
    required: a missing required table is an error; a missing optional (event/note) table gives an
        empty modality and a logged message.
    note: a note table, looked up in the note folder (see the module docs) by the last part of
        relpath; relpath's folder (`note/`, or none for MIMIC-III) is its default place under root.
    Names are matched ignoring case (files, folders and columns).
    """

    relpath: str
    columns: dict[str, tuple[str, object]]
    required: bool = False
    note: bool = False

    @property
    def stem(self) -> str:
        """The file name without .csv/.csv.gz (`discharge`, `NOTEEVENTS`)."""
        return self.relpath.rsplit("/", 1)[-1]


def _iii(*cols: tuple[str, str, object]) -> dict[str, tuple[str, object]]:
    return {src: (dst, dtype) for src, dst, dtype in cols}


def _iv(*cols: tuple[str, object]) -> dict[str, tuple[str, object]]:
    return {name: (name, dtype) for name, dtype in cols}


TABLES: dict[str, dict[str, TableSpec]] = {
    "iv": {
        "patients": TableSpec(
            "hosp/patients",
            _iv(
                ("subject_id", I64), ("gender", STR), ("anchor_age", F64), ("anchor_year", I64), ("dod", TIME)
            ),
            required=True,
        ),
        "admissions": TableSpec(
            "hosp/admissions",
            _iv(
                ("subject_id", I64),
                ("hadm_id", I64),
                ("admittime", TIME),
                ("dischtime", TIME),
                ("deathtime", TIME),
                ("hospital_expire_flag", I64),
            ),
            required=True,
        ),
        "icustays": TableSpec(
            "icu/icustays",
            _iv(
                ("subject_id", I64),
                ("hadm_id", I64),
                ("stay_id", I64),
                ("first_careunit", STR),
                ("last_careunit", STR),
                ("intime", TIME),
                ("outtime", TIME),
            ),
            required=True,
        ),
        "chartevents": TableSpec(
            "icu/chartevents",
            _iv(("stay_id", I64), ("itemid", I64), ("charttime", TIME), ("value", STR), ("valuenum", F64)),
        ),
        "labevents": TableSpec(
            "hosp/labevents",
            _iv(
                ("subject_id", I64),
                ("hadm_id", I64),
                ("itemid", I64),
                ("charttime", TIME),
                ("value", STR),
                ("valuenum", F64),
            ),
        ),
        "discharge": TableSpec(
            "note/discharge",
            _iv(
                ("note_id", STR),
                ("subject_id", I64),
                ("hadm_id", I64),
                ("note_type", STR),
                ("charttime", TIME),
                ("text", STR),
            ),
            note=True,
        ),
        "radiology": TableSpec(
            "note/radiology",
            _iv(
                ("note_id", STR),
                ("subject_id", I64),
                ("hadm_id", I64),
                ("note_type", STR),
                ("charttime", TIME),
                ("text", STR),
            ),
            note=True,
        ),
    },
    "iii": {
        "patients": TableSpec(
            "PATIENTS",
            _iii(
                ("SUBJECT_ID", "subject_id", I64),
                ("GENDER", "gender", STR),
                ("DOB", "dob", TIME),
                ("DOD", "dod", TIME),
            ),
            required=True,
        ),
        "admissions": TableSpec(
            "ADMISSIONS",
            _iii(
                ("SUBJECT_ID", "subject_id", I64),
                ("HADM_ID", "hadm_id", I64),
                ("ADMITTIME", "admittime", TIME),
                ("DISCHTIME", "dischtime", TIME),
                ("DEATHTIME", "deathtime", TIME),
                ("HOSPITAL_EXPIRE_FLAG", "hospital_expire_flag", I64),
            ),
            required=True,
        ),
        "icustays": TableSpec(
            "ICUSTAYS",
            _iii(
                ("SUBJECT_ID", "subject_id", I64),
                ("HADM_ID", "hadm_id", I64),
                ("ICUSTAY_ID", "stay_id", I64),
                ("FIRST_CAREUNIT", "first_careunit", STR),
                ("LAST_CAREUNIT", "last_careunit", STR),
                ("FIRST_WARDID", "first_wardid", I64),
                ("LAST_WARDID", "last_wardid", I64),
                ("INTIME", "intime", TIME),
                ("OUTTIME", "outtime", TIME),
            ),
            required=True,
        ),
        "chartevents": TableSpec(
            "CHARTEVENTS",
            _iii(
                ("ICUSTAY_ID", "stay_id", I64),
                ("ITEMID", "itemid", I64),
                ("CHARTTIME", "charttime", TIME),
                ("VALUE", "value", STR),
                ("VALUENUM", "valuenum", F64),
            ),
        ),
        "labevents": TableSpec(
            "LABEVENTS",
            _iii(
                ("SUBJECT_ID", "subject_id", I64),
                ("HADM_ID", "hadm_id", I64),
                ("ITEMID", "itemid", I64),
                ("CHARTTIME", "charttime", TIME),
                ("VALUE", "value", STR),
                ("VALUENUM", "valuenum", F64),
            ),
        ),
        "noteevents": TableSpec(
            "NOTEEVENTS",
            _iii(
                ("ROW_ID", "note_id", STR),
                ("SUBJECT_ID", "subject_id", I64),
                ("HADM_ID", "hadm_id", I64),
                ("CATEGORY", "note_type", STR),
                ("CHARTDATE", "chartdate", TIME),
                ("CHARTTIME", "charttime", TIME),
                ("ISERROR", "iserror", STR),
                ("TEXT", "text", STR),
            ),
            note=True,
        ),
    },
}
