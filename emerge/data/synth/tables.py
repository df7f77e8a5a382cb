"""Turn drawn timelines into MIMIC-IV 2.2 tables: patients, admissions, icustays, diagnoses_icd,
d_icd_diagnoses, plus `StayArrays`, the per-stay latent state the event and note writers read.

Identifiers are drawn like MIMIC-IV's (8-digit subject_id 1xxxxxxx, hadm_id 2xxxxxxx, stay_id
3xxxxxxx), unique and unordered. Times stay int64 seconds since 1970 until the writer formats them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import polars as pl
import simple_icd_10_cm as icd

from emerge.data.synth.conditions import BACKGROUND_CODES, CONDITIONS
from emerge.data.synth.people import DAY, Timeline
from emerge.data.synth.schema import SCHEMAS

__all__ = ["StayArrays", "AdmissionArrays", "build_tables", "undot"]


@dataclass(frozen=True)
class AdmissionArrays:
    """Per-admission latent state aligned with the admissions table rows (length A)."""

    subject_id: np.ndarray  # (A,) int64
    hadm_id: np.ndarray  # (A,) int64
    admittime: np.ndarray  # (A,) int64 seconds
    dischtime: np.ndarray  # (A,) int64 seconds
    dies: np.ndarray  # (A,) bool, in-hospital death
    age: np.ndarray  # (A,) int64
    male: np.ndarray  # (A,) bool
    conditions: np.ndarray  # (A, C) bool
    primary: np.ndarray  # (A,) int64 condition index


@dataclass(frozen=True)
class StayArrays:
    """Per-ICU-stay latent state aligned with the icustays table rows (length S)."""

    subject_id: np.ndarray  # (S,) int64
    hadm_id: np.ndarray  # (S,) int64
    stay_id: np.ndarray  # (S,) int64
    admission: np.ndarray  # (S,) int64 row in AdmissionArrays
    intime: np.ndarray  # (S,) int64 seconds
    outtime: np.ndarray  # (S,) int64 seconds
    severity: np.ndarray  # (S,) float64 acute severity of the admission
    deterioration: np.ndarray  # (S,) float64, > 0 when the patient dies in this admission
    conditions: np.ndarray  # (S, C) bool

    def __len__(self) -> int:
        return len(self.stay_id)


def undot(code: str) -> str:
    """MIMIC-IV stores ICD codes without the dot: "A41.9" -> "A419"."""
    return code.replace(".", "")


def _ids(rng: np.random.Generator, base: int, n: int) -> np.ndarray:
    return base + rng.choice(9_999_999, size=n, replace=False).astype(np.int64)


def _dt(values) -> pl.Series:
    """int seconds (None allowed) -> polars Datetime("us")."""
    return pl.Series([None if v is None else int(v) * 1_000_000 for v in values], dtype=pl.Int64).cast(
        pl.Datetime("us")
    )


def build_tables(
    tl: Timeline, rng: np.random.Generator, r: random.Random
) -> tuple[dict[str, pl.DataFrame], AdmissionArrays, StayArrays]:
    """The core hosp/icu tables (keyed by MIMIC path, e.g. "hosp/patients") and the latent arrays."""
    n_p, n_a, n_s = len(tl.patients), len(tl.admissions), len(tl.stays)
    subj, hadm, stay = _ids(rng, 10_000_000, n_p), _ids(rng, 20_000_000, n_a), _ids(rng, 30_000_000, n_s)
    C = len(CONDITIONS)

    dod = [None if p["dod"] is None else p["dod"] // DAY * DAY for p in tl.patients]
    patients = pl.DataFrame(
        {
            "subject_id": subj,
            "gender": [p["gender"] for p in tl.patients],
            "anchor_age": [p["anchor_age"] for p in tl.patients],
            "anchor_year": [p["anchor_year"] for p in tl.patients],
            "anchor_year_group": [p["anchor_year_group"] for p in tl.patients],
            "dod": _dt(dod).cast(pl.Date),
        }
    )

    adm_pat = np.array([a.patient for a in tl.admissions], dtype=np.int64)
    dies = np.array([a.deathtime is not None for a in tl.admissions])
    conds = np.zeros((n_a, C), dtype=bool)
    for k, a in enumerate(tl.admissions):
        conds[k, list(a.conditions)] = True
    palliative = conds[:, [i for i, c in enumerate(CONDITIONS) if c.name == "palliative care"][0]]
    ages = np.array([a.age for a in tl.admissions], dtype=np.int64)
    disch_locs = (
        "HOME",
        "HOME HEALTH CARE",
        "SKILLED NURSING FACILITY",
        "REHAB",
        "CHRONIC/LONG TERM ACUTE CARE",
        "AGAINST ADVICE",
    )
    rows = {
        "admission_type": [],
        "admit_provider_id": [],
        "admission_location": [],
        "discharge_location": [],
        "insurance": [],
        "language": [],
        "marital_status": [],
        "race": [],
    }
    for k, a in enumerate(tl.admissions):
        if a.emergency:
            rows["admission_type"].append(r.choice(("EW EMER.", "EW EMER.", "URGENT", "DIRECT EMER.")))
            rows["admission_location"].append("EMERGENCY ROOM")
        else:
            rows["admission_type"].append(
                r.choice(("URGENT", "ELECTIVE", "SURGICAL SAME DAY ADMISSION", "OBSERVATION ADMIT"))
            )
            rows["admission_location"].append(
                r.choice(("PHYSICIAN REFERRAL", "TRANSFER FROM HOSPITAL", "CLINIC REFERRAL"))
            )
        rows["admit_provider_id"].append("P" + "".join(r.choices("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", k=5)))
        rows["discharge_location"].append(
            "DIED"
            if dies[k]
            else ("HOSPICE" if palliative[k] else r.choices(disch_locs, weights=(30, 30, 20, 10, 6, 4))[0])
        )
        rows["insurance"].append(
            "Medicare" if a.age >= 65 and r.random() < 0.85 else r.choice(("Other", "Medicaid", "Other"))
        )
        rows["language"].append("ENGLISH" if r.random() < 0.92 else "?")
        rows["marital_status"].append(
            r.choices(("SINGLE", "MARRIED", "WIDOWED", "DIVORCED", None), weights=(35, 35, 15, 10, 5))[0]
        )
        rows["race"].append(
            r.choices(
                (
                    "WHITE",
                    "BLACK/AFRICAN AMERICAN",
                    "HISPANIC/LATINO - PUERTO RICAN",
                    "ASIAN",
                    "OTHER",
                    "UNKNOWN",
                ),
                weights=(62, 16, 6, 5, 5, 6),
            )[0]
        )
    admissions = pl.DataFrame(
        {
            "subject_id": subj[adm_pat],
            "hadm_id": hadm,
            "admittime": _dt([a.admittime for a in tl.admissions]),
            "dischtime": _dt([a.dischtime for a in tl.admissions]),
            "deathtime": _dt([a.deathtime for a in tl.admissions]),
            "admission_type": rows["admission_type"],
            "admit_provider_id": rows["admit_provider_id"],
            "admission_location": rows["admission_location"],
            "discharge_location": rows["discharge_location"],
            "insurance": rows["insurance"],
            "language": rows["language"],
            "marital_status": rows["marital_status"],
            "race": rows["race"],
            "edregtime": _dt([a.edregtime for a in tl.admissions]),
            "edouttime": _dt([a.edouttime for a in tl.admissions]),
            "hospital_expire_flag": dies.astype(np.int64),
        }
    )

    stay_adm = np.array([s.admission for s in tl.stays], dtype=np.int64)
    intime = np.array([s.intime for s in tl.stays], dtype=np.int64)
    outtime = np.array([s.outtime for s in tl.stays], dtype=np.int64)
    icustays = pl.DataFrame(
        {
            "subject_id": subj[adm_pat[stay_adm]],
            "hadm_id": hadm[stay_adm],
            "stay_id": stay,
            "first_careunit": [s.first_careunit for s in tl.stays],
            "last_careunit": [s.last_careunit for s in tl.stays],
            "intime": _dt(intime),
            "outtime": _dt(outtime),
            "los": (outtime - intime) / DAY,
        }
    )

    dx_rows: dict[str, list] = {
        "subject_id": [],
        "hadm_id": [],
        "seq_num": [],
        "icd_code": [],
        "icd_version": [],
    }
    used = set(BACKGROUND_CODES)
    for k, a in enumerate(tl.admissions):
        order = [a.primary] + sorted(a.conditions - {a.primary}, key=lambda i: -CONDITIONS[i].severity)
        codes = [code for i in order for code in CONDITIONS[i].icd10]
        codes += r.sample(BACKGROUND_CODES, r.randint(0, 2))
        for seq, code in enumerate(codes, start=1):
            dx_rows["subject_id"].append(int(subj[adm_pat[k]]))
            dx_rows["hadm_id"].append(int(hadm[k]))
            dx_rows["seq_num"].append(seq)
            dx_rows["icd_code"].append(undot(code))
            dx_rows["icd_version"].append(10)
            used.add(code)
    diagnoses = pl.DataFrame(dx_rows)
    d_icd = pl.DataFrame(
        {
            "icd_code": [undot(c) for c in sorted(used)],
            "icd_version": [10] * len(used),
            "long_title": [icd.get_description(c) for c in sorted(used)],
        }
    )

    tables = {
        "hosp/patients": patients,
        "hosp/admissions": admissions,
        "icu/icustays": icustays,
        "hosp/diagnoses_icd": diagnoses,
        "hosp/d_icd_diagnoses": d_icd,
    }
    tables = {k: v.select([pl.col(c).cast(t) for c, t in SCHEMAS[k].items()]) for k, v in tables.items()}

    adm = AdmissionArrays(
        subj[adm_pat],
        hadm,
        np.array([a.admittime for a in tl.admissions], dtype=np.int64),
        np.array([a.dischtime for a in tl.admissions], dtype=np.int64),
        dies,
        ages,
        np.array([tl.patients[a.patient]["gender"] == "M" for a in tl.admissions]),
        conds,
        np.array([a.primary for a in tl.admissions], dtype=np.int64),
    )
    sev = np.array([a.severity for a in tl.admissions])
    stays = StayArrays(
        subj[adm_pat[stay_adm]],
        hadm[stay_adm],
        stay,
        stay_adm,
        intime,
        outtime,
        sev[stay_adm],
        np.array([s.deterioration for s in tl.stays]),
        conds[stay_adm],
    )
    return tables, adm, stays
