"""Column names, order and types of the MIMIC-IV 2.2 tables the synthetic cohort writes.

Copied from the MIMIC-IV 2.2 files (hosp/, icu/) and MIMIC-IV-Note 2.2 (note/); the tests compare
every written header with these lists, and `schema_of` lets other code check a table against them.
Datetimes are written "YYYY-MM-DD HH:MM:SS", dates "YYYY-MM-DD", missing values as empty fields.
"""

from __future__ import annotations

import polars as pl

__all__ = ["SCHEMAS", "TABLES", "schema_of"]

_DT = pl.Datetime("us")
_NOTE = {
    "note_id": pl.String,
    "subject_id": pl.Int64,
    "hadm_id": pl.Int64,
    "note_type": pl.String,
    "note_seq": pl.Int64,
    "charttime": _DT,
    "storetime": _DT,
    "text": pl.String,
}

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "hosp/patients": {
        "subject_id": pl.Int64,
        "gender": pl.String,
        "anchor_age": pl.Int64,
        "anchor_year": pl.Int64,
        "anchor_year_group": pl.String,
        "dod": pl.Date,
    },
    "hosp/admissions": {
        "subject_id": pl.Int64,
        "hadm_id": pl.Int64,
        "admittime": _DT,
        "dischtime": _DT,
        "deathtime": _DT,
        "admission_type": pl.String,
        "admit_provider_id": pl.String,
        "admission_location": pl.String,
        "discharge_location": pl.String,
        "insurance": pl.String,
        "language": pl.String,
        "marital_status": pl.String,
        "race": pl.String,
        "edregtime": _DT,
        "edouttime": _DT,
        "hospital_expire_flag": pl.Int64,
    },
    "hosp/labevents": {
        "labevent_id": pl.Int64,
        "subject_id": pl.Int64,
        "hadm_id": pl.Int64,
        "specimen_id": pl.Int64,
        "itemid": pl.Int64,
        "order_provider_id": pl.String,
        "charttime": _DT,
        "storetime": _DT,
        "value": pl.String,
        "valuenum": pl.Float64,
        "valueuom": pl.String,
        "ref_range_lower": pl.Float64,
        "ref_range_upper": pl.Float64,
        "flag": pl.String,
        "priority": pl.String,
        "comments": pl.String,
    },
    "hosp/d_labitems": {"itemid": pl.Int64, "label": pl.String, "fluid": pl.String, "category": pl.String},
    "hosp/diagnoses_icd": {
        "subject_id": pl.Int64,
        "hadm_id": pl.Int64,
        "seq_num": pl.Int64,
        "icd_code": pl.String,
        "icd_version": pl.Int64,
    },
    "hosp/d_icd_diagnoses": {"icd_code": pl.String, "icd_version": pl.Int64, "long_title": pl.String},
    "icu/icustays": {
        "subject_id": pl.Int64,
        "hadm_id": pl.Int64,
        "stay_id": pl.Int64,
        "first_careunit": pl.String,
        "last_careunit": pl.String,
        "intime": _DT,
        "outtime": _DT,
        "los": pl.Float64,
    },
    "icu/chartevents": {
        "subject_id": pl.Int64,
        "hadm_id": pl.Int64,
        "stay_id": pl.Int64,
        "caregiver_id": pl.Int64,
        "charttime": _DT,
        "storetime": _DT,
        "itemid": pl.Int64,
        "value": pl.String,
        "valuenum": pl.Float64,
        "valueuom": pl.String,
        "warning": pl.Int64,
    },
    "icu/d_items": {
        "itemid": pl.Int64,
        "label": pl.String,
        "abbreviation": pl.String,
        "linksto": pl.String,
        "category": pl.String,
        "unitname": pl.String,
        "param_type": pl.String,
        "lownormalvalue": pl.Float64,
        "highnormalvalue": pl.Float64,
    },
    "note/discharge": dict(_NOTE),
    "note/radiology": dict(_NOTE),
}
TABLES = tuple(SCHEMAS)


def schema_of(table: str) -> dict[str, pl.DataType]:
    """Ordered column -> dtype of one table, e.g. `schema_of("icu/chartevents")`."""
    try:
        return SCHEMAS[table]
    except KeyError:
        raise KeyError(f"unknown MIMIC-IV table {table!r}; valid: {list(SCHEMAS)}") from None
