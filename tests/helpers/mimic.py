"""Tiny MIMIC-IV / MIMIC-III roots written in their documented schemas, for the reader tests.

`iv_root` writes three patients, four ICU stays and hand-made chartevents / labevents / notes whose
expected hourly values are worked out in the tests. `iii_root` writes the same in MIMIC-III's
upper-case layout (uncompressed .csv, CareVue itemids, NOTEEVENTS); `iii_demo_root` writes the same
rows as the public MIMIC-III demo ships its tables (upper-case file names, lower-case headers, every
column of MIMIC-III 1.4): the committed fixture tests/fixtures/mimic_iii_lower is its output.
`physionet_layout` puts a MIMIC-IV root and a MIMIC-IV-Note module where a PhysioNet download does.
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from tests.helpers.paths import REPO

MIMIC_III_LOWER = REPO / "tests" / "fixtures" / "mimic_iii_lower"  # `iii_demo_root`'s output, committed


def write_table(path: Path, rows: list[dict] | pl.DataFrame, columns: list[str] | None = None) -> Path:
    """Write rows as CSV (gzipped when the name ends in .gz); `columns` fixes the header for empty tables."""
    frame = (
        rows
        if isinstance(rows, pl.DataFrame)
        else (
            pl.DataFrame(rows, schema={c: pl.String for c in columns})
            if columns and not rows
            else pl.DataFrame([{k: (None if v is None else str(v)) for k, v in r.items()} for r in rows])
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    text = frame.write_csv()
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# Stay 111 (patient 1, adult, 4 days, intime 2150-01-01 10:00) carries the hand-made events.
# Stay 121: patient 1 again 15 days after 111's ICU discharge (ICU readmission for 111).
# Stay 211: patient 2, dies in hospital. Stay 311: patient 3, aged 16 (excluded).
PATIENTS_IV = [
    {
        "subject_id": 1,
        "gender": "M",
        "anchor_age": 60,
        "anchor_year": 2150,
        "anchor_year_group": "2008 - 2010",
        "dod": None,
    },
    {
        "subject_id": 2,
        "gender": "F",
        "anchor_age": 70,
        "anchor_year": 2150,
        "anchor_year_group": "2008 - 2010",
        "dod": "2150-01-15",
    },
    {
        "subject_id": 3,
        "gender": "M",
        "anchor_age": 16,
        "anchor_year": 2150,
        "anchor_year_group": "2008 - 2010",
        "dod": None,
    },
]
ADMISSIONS_IV = [
    {
        "subject_id": 1,
        "hadm_id": 11,
        "admittime": "2150-01-01 08:00:00",
        "dischtime": "2150-01-10 12:00:00",
        "deathtime": None,
        "hospital_expire_flag": 0,
    },
    {
        "subject_id": 1,
        "hadm_id": 12,
        "admittime": "2150-01-20 08:00:00",
        "dischtime": "2150-01-25 12:00:00",
        "deathtime": None,
        "hospital_expire_flag": 0,
    },
    {
        "subject_id": 2,
        "hadm_id": 21,
        "admittime": "2150-01-01 20:00:00",
        "dischtime": "2150-01-15 10:00:00",
        "deathtime": "2150-01-15 10:00:00",
        "hospital_expire_flag": 1,
    },
    {
        "subject_id": 3,
        "hadm_id": 31,
        "admittime": "2150-01-01 00:00:00",
        "dischtime": "2150-01-09 00:00:00",
        "deathtime": None,
        "hospital_expire_flag": 0,
    },
]
ICUSTAYS_IV = [
    {
        "subject_id": 1,
        "hadm_id": 11,
        "stay_id": 111,
        "first_careunit": "MICU",
        "last_careunit": "MICU",
        "intime": "2150-01-01 10:00:00",
        "outtime": "2150-01-05 10:00:00",
        "los": 4.0,
    },
    {
        "subject_id": 1,
        "hadm_id": 12,
        "stay_id": 121,
        "first_careunit": "MICU",
        "last_careunit": "MICU",
        "intime": "2150-01-20 12:00:00",
        "outtime": "2150-01-23 12:00:00",
        "los": 3.0,
    },
    {
        "subject_id": 2,
        "hadm_id": 21,
        "stay_id": 211,
        "first_careunit": "SICU",
        "last_careunit": "SICU",
        "intime": "2150-01-02 00:00:00",
        "outtime": "2150-01-06 00:00:00",
        "los": 4.0,
    },
    {
        "subject_id": 3,
        "hadm_id": 31,
        "stay_id": 311,
        "first_careunit": "MICU",
        "last_careunit": "MICU",
        "intime": "2150-01-01 02:00:00",
        "outtime": "2150-01-05 02:00:00",
        "los": 4.0,
    },
]


def _chart(stay: int, item: int, time: str, value: object, valuenum: object = None) -> dict:
    return {
        "subject_id": stay // 100,
        "hadm_id": stay // 10,
        "stay_id": stay,
        "caregiver_id": 7,
        "charttime": f"2150-01-{time}",
        "storetime": None,
        "itemid": item,
        "value": value,
        "valuenum": valuenum,
        "valueuom": None,
        "warning": 0,
    }


CHARTEVENTS_IV = [
    _chart(111, 220045, "01 10:30:00", "80", 80),
    _chart(111, 220045, "01 10:50:00", "90", 90),  # hour 0: last = 90
    _chart(111, 220045, "01 12:10:00", "500", 500),  # out of valid range (0, 350): dropped
    _chart(111, 223761, "01 11:00:00", "98.6", 98.6),  # Fahrenheit -> 37.0 C at hour 1
    _chart(111, 226531, "01 10:00:00", "220", 220),  # lb -> 99.79 kg at hour 0
    _chart(111, 226707, "01 10:00:00", "70", 70),  # inches -> 177.8 cm
    _chart(111, 223835, "01 13:00:00", "50", 50),  # FiO2 50 % -> 0.5 at hour 3
    _chart(111, 220277, "01 13:30:00", "97", None),  # SpO2 given only as text
    _chart(111, 220739, "01 14:00:00", "Spontaneously", 4),
    _chart(111, 223900, "01 14:00:00", "Oriented", 5),
    _chart(111, 223901, "01 14:00:00", "Obeys Commands", 6),  # GCS total 15 at hour 4
    _chart(111, 220739, "01 15:00:00", "To Speech", 3),  # eye alone at hour 5: no total
    _chart(111, 223951, "01 16:00:00", "Normal <3 Seconds", None),  # capillary refill 0.0 at hour 6
    _chart(111, 224308, "01 17:00:00", "purple", None),  # unmapped category: dropped
    _chart(111, 999999, "01 11:00:00", "1", 1),  # itemid of no variable: ignored, counted
    _chart(111, 220045, "03 10:00:00", "70", 70),  # hour 48: outside the window
    _chart(211, 220045, "02 05:00:00", "100", 100),  # stay 211, hour 5
    _chart(121, 220045, "20 13:00:00", "60", 60),  # stay 121, hour 1
]
LABEVENTS_IV = [
    {
        "labevent_id": 1,
        "subject_id": 1,
        "hadm_id": 11,
        "specimen_id": 1,
        "itemid": 50820,
        "order_provider_id": None,
        "charttime": "2150-01-01 12:30:00",
        "storetime": None,
        "value": "7.40",
        "valuenum": 7.4,
        "valueuom": "units",
        "ref_range_lower": 7.35,
        "ref_range_upper": 7.45,
        "flag": None,
        "priority": "STAT",
        "comments": None,
    },
    {
        "labevent_id": 2,
        "subject_id": 1,
        "hadm_id": 11,
        "specimen_id": 2,
        "itemid": 51221,
        "order_provider_id": None,
        "charttime": "2150-01-01 12:30:00",
        "storetime": None,
        "value": "30",
        "valuenum": 30,
        "valueuom": "%",
        "ref_range_lower": None,
        "ref_range_upper": None,
        "flag": None,
        "priority": "STAT",
        "comments": None,
    },
]


def _note(note_id: str, subject: int, hadm: int, kind: str, time: str, text: str) -> dict:
    return {
        "note_id": note_id,
        "subject_id": subject,
        "hadm_id": hadm,
        "note_type": kind,
        "note_seq": 1,
        "charttime": time,
        "storetime": None,
        "text": text,
    }


RADIOLOGY_IV = [
    _note("1-RR-1", 1, 11, "RR", "2150-01-01 20:00:00", "CHEST X-RAY [** name **]: no   acute process....."),
    _note("1-RR-2", 1, 11, "RR", "2150-01-04 20:00:00", "late film, after the window"),
    _note("2-RR-1", 2, 21, "RR", "2150-01-01 23:00:00", "before the ICU stay"),
]
DISCHARGE_IV = [
    _note("1-DS-1", 1, 11, "DS", "2150-01-10 12:00:00", "Discharge summary: CHF exacerbation ___ resolved")
]


def iv_root(root: Path, *, chartevents: bool = True, notes: bool = True, suffix: str = ".csv.gz") -> Path:
    """Write the tiny MIMIC-IV root described above; optional tables can be left out."""
    write_table(root / f"hosp/patients{suffix}", PATIENTS_IV)
    write_table(root / f"hosp/admissions{suffix}", ADMISSIONS_IV)
    write_table(root / f"icu/icustays{suffix}", ICUSTAYS_IV)
    write_table(root / f"hosp/labevents{suffix}", LABEVENTS_IV)
    if chartevents:
        write_table(root / f"icu/chartevents{suffix}", CHARTEVENTS_IV)
    if notes:
        write_table(root / f"note/radiology{suffix}", RADIOLOGY_IV)
        write_table(root / f"note/discharge{suffix}", DISCHARGE_IV)
    return root


def iv_root_with_bad_chartevent(root: Path, row: int, column: str, value: object) -> Path:
    """The tiny MIMIC-IV root with one chartevents cell replaced by `value` (bad-input tests)."""
    iv_root(root)
    rows = [dict(r) for r in CHARTEVENTS_IV]
    rows[row][column] = value
    write_table(root / "icu/chartevents.csv.gz", rows)
    return root


def iii_tables() -> dict[str, list[dict]]:
    """The rows of the tiny MIMIC-III root, by table file stem (upper-case names and columns):
    patient 1 (stay 111, CareVue), patient 2 aged > 89."""
    tables: dict[str, list[dict]] = {}
    tables["PATIENTS"] = [
        {
            "ROW_ID": 1,
            "SUBJECT_ID": 1,
            "GENDER": "M",
            "DOB": "2090-01-01 00:00:00",
            "DOD": None,
            "EXPIRE_FLAG": 0,
        },
        {
            "ROW_ID": 2,
            "SUBJECT_ID": 2,
            "GENDER": "F",
            "DOB": "1850-01-01 00:00:00",
            "DOD": "2150-01-04 00:00:00",
            "EXPIRE_FLAG": 1,
        },
    ]
    tables["ADMISSIONS"] = [
        {
            "ROW_ID": 1,
            "SUBJECT_ID": 1,
            "HADM_ID": 11,
            "ADMITTIME": "2150-01-01 08:00:00",
            "DISCHTIME": "2150-01-10 12:00:00",
            "DEATHTIME": None,
            "HOSPITAL_EXPIRE_FLAG": 0,
        },
        {
            "ROW_ID": 2,
            "SUBJECT_ID": 2,
            "HADM_ID": 21,
            "ADMITTIME": "2150-01-01 08:00:00",
            "DISCHTIME": "2150-01-04 00:00:00",
            "DEATHTIME": "2150-01-04 00:00:00",
            "HOSPITAL_EXPIRE_FLAG": 1,
        },
    ]
    tables["ICUSTAYS"] = [
        {
            "ROW_ID": 1,
            "SUBJECT_ID": 1,
            "HADM_ID": 11,
            "ICUSTAY_ID": 111,
            "DBSOURCE": "carevue",
            "FIRST_CAREUNIT": "MICU",
            "LAST_CAREUNIT": "MICU",
            "FIRST_WARDID": 52,
            "LAST_WARDID": 52,
            "INTIME": "2150-01-01 10:00:00",
            "OUTTIME": "2150-01-05 10:00:00",
            "LOS": 4.0,
        },
        {
            "ROW_ID": 2,
            "SUBJECT_ID": 2,
            "HADM_ID": 21,
            "ICUSTAY_ID": 211,
            "DBSOURCE": "carevue",
            "FIRST_CAREUNIT": "MICU",
            "LAST_CAREUNIT": "MICU",
            "FIRST_WARDID": 52,
            "LAST_WARDID": 52,
            "INTIME": "2150-01-01 10:00:00",
            "OUTTIME": "2150-01-03 23:00:00",
            "LOS": 2.5,
        },
    ]

    def ce(stay: int, item: int, time: str, value: str, num: object) -> dict:
        return {
            "ROW_ID": 1,
            "SUBJECT_ID": stay // 100,
            "HADM_ID": stay // 10,
            "ICUSTAY_ID": stay,
            "ITEMID": item,
            "CHARTTIME": f"2150-01-01 {time}",
            "STORETIME": None,
            "CGID": 1,
            "VALUE": value,
            "VALUENUM": num,
            "VALUEUOM": None,
            "WARNING": None,
            "ERROR": None,
            "RESULTSTATUS": None,
            "STOPPED": None,
        }

    tables["CHARTEVENTS"] = [
        ce(111, 211, "10:15:00", "88", 88),  # CareVue heart rate, hour 0
        ce(111, 678, "11:15:00", "100.4", 100.4),  # CareVue temperature in F -> 38.0 C, hour 1
        ce(111, 3581, "10:20:00", "110", 110),  # CareVue weight in lb -> 49.9 kg
        ce(111, 198, "12:00:00", "14", 14),  # CareVue GCS total, hour 2
        ce(111, 184, "12:00:00", "4 Spontaneously", 4),  # CareVue GCS eye text, hour 2
        ce(111, 190, "12:30:00", "0.4", 0.4),  # an itemid of no variable (FiO2 set): ignored
    ]
    tables["LABEVENTS"] = [
        {
            "ROW_ID": 1,
            "SUBJECT_ID": 1,
            "HADM_ID": 11,
            "ITEMID": 50820,
            "CHARTTIME": "2150-01-01 13:00:00",
            "VALUE": "7.31",
            "VALUENUM": 7.31,
            "VALUEUOM": "units",
            "FLAG": "abnormal",
        }
    ]

    def note(
        row: int, category: str, date: str, time: str | None, text: str, error: str | None = None
    ) -> dict:
        return {
            "ROW_ID": row,
            "SUBJECT_ID": 1,
            "HADM_ID": 11,
            "CHARTDATE": date,
            "CHARTTIME": time,
            "STORETIME": None,
            "CATEGORY": category,
            "DESCRIPTION": "Report",
            "CGID": None,
            "ISERROR": error,
            "TEXT": text,
        }

    tables["NOTEEVENTS"] = [
        note(1, "Nursing", "2150-01-01", "2150-01-01 18:00:00", "Pt   resting [**Hospital 1**]\ncomfortably"),
        note(2, "Radiology", "2150-01-01", None, "CXR: no date-time, cannot be placed"),
        note(3, "Discharge summary", "2150-01-10", None, "Discharge summary: sepsis resolved"),
        note(4, "Nursing", "2150-01-01", "2150-01-01 19:00:00", "wrong patient note", error="1"),
        note(5, "Nursing", "2150-01-04", "2150-01-04 19:00:00", "after the window"),
    ]
    return tables


def iii_root(root: Path) -> Path:
    """A MIMIC-III root as the full release ships it (upper-case file names and columns), as .csv."""
    for stem, rows in iii_tables().items():
        write_table(root / f"{stem}.csv", rows)
    return root


# The columns of MIMIC-III 1.4's tables, in its order (the demo's headers, lower-case).
III_COLUMNS = {
    "PATIENTS": "row_id subject_id gender dob dod dod_hosp dod_ssn expire_flag",
    "ADMISSIONS": "row_id subject_id hadm_id admittime dischtime deathtime admission_type admission_location "
    "discharge_location insurance language religion marital_status ethnicity edregtime edouttime diagnosis "
    "hospital_expire_flag has_chartevents_data",
    "ICUSTAYS": "row_id subject_id hadm_id icustay_id dbsource first_careunit last_careunit first_wardid "
    "last_wardid intime outtime los",
    "CHARTEVENTS": "row_id subject_id hadm_id icustay_id itemid charttime storetime cgid value valuenum "
    "valueuom warning error resultstatus stopped",
    "LABEVENTS": "row_id subject_id hadm_id itemid charttime value valuenum valueuom flag",
    "NOTEEVENTS": "row_id subject_id hadm_id chartdate charttime storetime category description cgid iserror "
    "text",
}
# Values of the columns `iii_tables` leaves out, as the demo has them (empty otherwise).
_III_EXTRA = {
    "ADMISSIONS": {
        "admission_type": "EMERGENCY",
        "admission_location": "EMERGENCY ROOM ADMIT",
        "discharge_location": "HOME",
        "insurance": "Medicare",
        "ethnicity": "WHITE",
        "diagnosis": "SEPSIS",
        "has_chartevents_data": 1,
    },
}


def iii_demo_root(root: Path) -> Path:
    """`iii_tables` as the public MIMIC-III demo ships them: `ADMISSIONS.csv` ... with lower-case headers
    and all of MIMIC-III 1.4's columns, values quoted only where needed (a note's line breaks)."""
    for stem, rows in iii_tables().items():
        columns = III_COLUMNS[stem].split()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            lower = {**_III_EXTRA.get(stem, {}), **{k.lower(): v for k, v in row.items()}}
            unknown = set(lower) - set(columns)
            if unknown:
                raise ValueError(f"{stem}: columns {sorted(unknown)} are not MIMIC-III's")
            writer.writerow(["" if lower.get(c) is None else lower[c] for c in columns])
        root.mkdir(parents=True, exist_ok=True)
        (root / f"{stem}.csv").write_text(out.getvalue(), encoding="utf-8")
    return root


def physionet_layout(
    base: Path, src: Path, *, version: str = "2.2", note_version: str | None = "2.2", notes: bool = True
) -> Path:
    """`src` (a MIMIC-IV root: hosp/, icu/) copied to base/physionet.org/files/mimiciv/<version>, and,
    unless note_version is None, a MIMIC-IV-Note module at .../files/mimic-iv-note/<note_version>/note
    holding one radiology report per ICU stay of src, 2 h after its intime (none when `notes` is
    false: an empty note folder). Returns the MIMIC-IV root."""
    files = base / "physionet.org" / "files"
    root = files / "mimiciv" / version
    for sub in ("hosp", "icu"):
        shutil.copytree(src / sub, root / sub)
    if note_version is not None:
        note = files / "mimic-iv-note" / note_version / "note"
        note.mkdir(parents=True)
        if notes:
            with gzip.open(root / "icu/icustays.csv.gz", "rt", encoding="utf-8") as fh:
                stays = list(csv.DictReader(fh))
            reports = []
            for i, stay in enumerate(stays):
                when = datetime.fromisoformat(stay["intime"]) + timedelta(hours=2)
                reports.append(
                    {
                        **{k: RADIOLOGY_IV[0][k] for k in ("note_type", "note_seq", "storetime")},
                        "note_id": f"{stay['subject_id']}-RR-{i}",
                        "subject_id": stay["subject_id"],
                        "hadm_id": stay["hadm_id"],
                        "charttime": when.strftime("%Y-%m-%d %H:%M:%S"),
                        "text": f"CHEST X-RAY of stay {stay['stay_id']}: no acute process",
                    }
                )
            write_table(note / "radiology.csv.gz", reports)
            write_table(note / "discharge.csv.gz", [], columns=list(DISCHARGE_IV[0]))
    return root
