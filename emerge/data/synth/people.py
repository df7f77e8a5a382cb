"""Patients, admissions and ICU stays of the synthetic cohort, with their latent state.

Each patient lives a timeline: chronic conditions drawn once, then admissions one after the other.
Per admission, acute and goals-of-care conditions are drawn, an acute severity follows from them,
and in-hospital death is drawn from a logistic model of severity, age and the note-only facts
(metastatic cancer, DNR, palliative care). Survivors may come back to the ICU within 30 days or die
within 30 days of ICU discharge (EMERGE's readmission), again from a logistic model; some come back
much later or die years later (negatives with follow-up). Labels are never stored here: the readers
must derive them from the tables, and `outcomes.py` derives them the same way for the summary.

Edge cases the readers must handle are drawn on purpose: children, ICU stays shorter than 48 h,
ICU transfers (first_careunit != last_careunit), admissions with two ICU stays, repeat patients.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from emerge.data.synth.conditions import CONDITIONS, condition_index

__all__ = ["Timeline", "AdmissionLatent", "StayLatent", "draw_timelines", "CAREUNITS"]

HOUR = 3600
DAY = 24 * HOUR

CAREUNITS: tuple[tuple[str, float], ...] = (
    ("Medical Intensive Care Unit (MICU)", 0.28),
    ("Medical/Surgical Intensive Care Unit (MICU/SICU)", 0.18),
    ("Surgical Intensive Care Unit (SICU)", 0.14),
    ("Cardiac Vascular Intensive Care Unit (CVICU)", 0.14),
    ("Coronary Care Unit (CCU)", 0.1),
    ("Trauma SICU (TSICU)", 0.1),
    ("Neuro Surgical Intensive Care Unit (Neuro SICU)", 0.06),
)
YEAR_GROUPS = ("2008 - 2010", "2011 - 2013", "2014 - 2016", "2017 - 2019", "2020 - 2022")
MORTALITY_INTERCEPT = -4.1
READMISSION_INTERCEPT = -4.0

_CHRONIC = [i for i, c in enumerate(CONDITIONS) if c.kind == "chronic"]
_ACUTE = [i for i, c in enumerate(CONDITIONS) if c.kind == "acute"]
_I = condition_index


@dataclass
class AdmissionLatent:
    """One admission: times in seconds since 1970 (UTC, shifted years), conditions and fate."""

    patient: int  # index into Timeline.patients
    admittime: int
    dischtime: int
    deathtime: int | None
    edregtime: int | None
    edouttime: int | None
    emergency: bool
    conditions: frozenset[int]
    severity: float
    age: int
    primary: int


@dataclass
class StayLatent:
    """One ICU stay; `deterioration` > 0 for about half the stays whose patient dies in this admission."""

    admission: int  # index into Timeline.admissions
    intime: int
    outtime: int
    first_careunit: str
    last_careunit: str
    deterioration: float


@dataclass
class Timeline:
    """All patients (dicts of patient-level fields), admissions and stays, in time order per patient."""

    patients: list[dict]
    admissions: list[AdmissionLatent]
    stays: list[StayLatent]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _year_start(year: int) -> int:
    return int(np.datetime64(f"{year}-01-01T00:00:00", "s").astype(np.int64))


def _draw_chronic(r: random.Random, age: int) -> set[int]:
    scale = 0.2 if age < 18 else (0.5 if age < 45 else 1.0)
    out = set()
    for i in _CHRONIC:
        p = CONDITIONS[i].prevalence * scale
        if CONDITIONS[i].name == "dementia":
            p = 0.0 if age < 60 else p * (2.5 if age >= 80 else 1.0)
        if r.random() < p:
            out.add(i)
    return out


def _draw_acute(r: random.Random, chronic: set[int], age: int) -> set[int]:
    """Acute problems of one admission; conditional rates make the comorbidity pattern plausible."""
    got: set[int] = set()

    def has(name: str) -> bool:
        return _I(name) in got or _I(name) in chronic

    for i in _ACUTE:
        c = CONDITIONS[i]
        p = c.prevalence
        if c.name == "sepsis" and (has("pneumonia") or has("urinary tract infection")):
            p += 0.3
        elif c.name == "acute kidney injury":
            p += 0.15 * has("sepsis") + 0.12 * has("chronic kidney disease")
        elif c.name == "hyperkalemia":
            p = 0.3 if (has("acute kidney injury") or has("chronic kidney disease")) else 0.02
        elif c.name == "diabetic ketoacidosis":
            p = 0.1 if has("type 2 diabetes mellitus") else 0.0
        elif c.name == "acute respiratory failure":
            p += 0.15 * (
                has("pneumonia") or has("chronic obstructive pulmonary disease") or has("heart failure")
            )
        if r.random() < p:
            got.add(i)
    if not got:
        weights = [CONDITIONS[i].prevalence for i in _ACUTE]
        got.add(r.choices(_ACUTE, weights=weights)[0])
    return got


def _draw_care(r: random.Random, conds: set[int], age: int) -> set[int]:
    mets, dementia = _I("metastatic cancer") in conds, _I("dementia") in conds
    out = set()
    if r.random() < 0.03 + 0.3 * mets + 0.12 * (age >= 80) + 0.2 * dementia:
        out.add(_I("do not resuscitate"))
    if r.random() < 0.01 + 0.12 * mets + 0.06 * bool(out):
        out.add(_I("palliative care"))
    return out


def _careunits(r: random.Random) -> tuple[str, str]:
    names = [u for u, _ in CAREUNITS]
    first = r.choices(names, weights=[w for _, w in CAREUNITS])[0]
    if r.random() < 0.06:  # ICU transfer
        return first, r.choice([n for n in names if n != first])
    return first, first


def _icu_hours(r: random.Random) -> float:
    if r.random() < 0.13:  # shorter than the 48 h observation window
        return r.uniform(5.0, 47.0)
    return min(48.0 + r.gammavariate(1.5, 40.0), 30 * 24.0)


def _patient(r: random.Random) -> dict:
    child = r.random() < 0.02
    age = r.randint(12, 17) if child else int(min(91, max(18, r.gauss(64, 16))))
    return {
        "gender": "M" if r.random() < 0.56 else "F",
        "anchor_age": age,
        "anchor_year": r.randint(2110, 2195),
        "anchor_year_group": r.choice(YEAR_GROUPS),
        "dod": None,
    }


def draw_timelines(n_stays: int, r: random.Random) -> Timeline:
    """Draw patients until exactly `n_stays` ICU stays exist (the last patient's timeline is cut short)."""
    patients: list[dict] = []
    admissions: list[AdmissionLatent] = []
    stays: list[StayLatent] = []
    while len(stays) < n_stays:
        pat = _patient(r)
        p_idx = len(patients)
        patients.append(pat)
        chronic = _draw_chronic(r, pat["anchor_age"])
        t = _year_start(pat["anchor_year"]) + int(r.uniform(0, 2 * 365) * DAY)
        icu_delay_max = 30.0  # hours from admission to ICU; shorter for readmissions near day 30
        while len(stays) < n_stays:
            year = int(np.datetime64(t, "s").astype("datetime64[Y]").astype(int)) + 1970
            age = pat["anchor_age"] + year - pat["anchor_year"]
            conds = set(chronic) | _draw_acute(r, chronic, age)
            conds |= _draw_care(r, conds, age)
            severity = sum(CONDITIONS[i].severity for i in conds) + r.gauss(0.0, 0.5)
            logit = (
                MORTALITY_INTERCEPT
                + 0.9 * severity
                + 0.03 * (age - 65)
                + sum(CONDITIONS[i].mortality for i in conds)
            )
            dies = r.random() < _sigmoid(logit)
            n_icu = 2 if (r.random() < 0.05 and n_stays - len(stays) >= 2) else 1
            admittime = t - t % 60
            emergency = r.random() < 0.7
            edreg = admittime - int(r.uniform(1, 8) * HOUR) // 60 * 60 if emergency else None
            edout = admittime + int(r.uniform(0, 1.5) * HOUR) // 60 * 60 if emergency else None
            intime = admittime + int(r.uniform(0.3, icu_delay_max) * HOUR)
            a_idx = len(admissions)
            adm_stays = []
            for k in range(n_icu):
                first, last = _careunits(r)
                outtime = intime + int(_icu_hours(r) * HOUR)
                adm_stays.append(
                    StayLatent(
                        a_idx,
                        intime,
                        outtime,
                        first,
                        last,
                        (r.uniform(0.1, 0.7) if dies and r.random() < 0.5 else 0.0),
                    )
                )
                if k + 1 < n_icu:
                    intime = outtime + int(r.uniform(24, 96) * HOUR)
            last_out = adm_stays[-1].outtime
            if dies:
                deathtime = last_out if r.random() < 0.65 else last_out + int(r.uniform(6, 120) * HOUR)
                deathtime -= deathtime % 60
                adm_stays[-1].outtime = min(adm_stays[-1].outtime, deathtime)  # died in the ICU: out at death
                dischtime = deathtime
            else:
                deathtime = None
                dischtime = last_out + int(r.uniform(12, 8 * 24) * HOUR)
                dischtime -= dischtime % 60
            primary = max(
                (i for i in conds if CONDITIONS[i].kind == "acute"), key=lambda i: CONDITIONS[i].severity
            )
            admissions.append(
                AdmissionLatent(
                    p_idx,
                    admittime,
                    dischtime,
                    deathtime,
                    edreg,
                    edout,
                    emergency,
                    frozenset(conds),
                    severity,
                    age,
                    primary,
                )
            )
            stays.extend(adm_stays)
            if dies:
                pat["dod"] = deathtime
                break
            icu_delay_max = 30.0
            logit = (
                READMISSION_INTERCEPT
                + 0.35 * severity
                + 0.01 * (age - 65)
                + sum(CONDITIONS[i].readmission for i in conds)
            )
            room = 28 * DAY - (dischtime - last_out)  # time left for a new ICU stay inside 30 days
            if r.random() < _sigmoid(logit):
                if r.random() < 0.7 and room > 2 * DAY:
                    gap = int(r.uniform(0.5 * DAY, room - 1.5 * DAY))
                    t = dischtime + gap
                    icu_delay_max = min(30.0, (room - gap) / HOUR - 2)
                    continue
                pat["dod"] = last_out + int(r.uniform(2 * HOUR, 28 * DAY))
                pat["dod"] = max(pat["dod"], dischtime)
                break
            u = r.random()
            if u < 0.14:  # a later, unrelated admission (not a readmission)
                t = max(dischtime, last_out + 32 * DAY) + int(r.uniform(15, 900) * DAY)
                continue
            if u < 0.24:  # dies long after discharge
                pat["dod"] = max(dischtime, last_out + 32 * DAY) + int(r.uniform(15, 1500) * DAY)
            break
    return Timeline(patients, admissions, stays)
