"""icu/chartevents: the 17 benchmark variables (MIMIC-IV itemids) plus a few other items.

Vitals roughly hourly for 72 h, then every 4 h up to day 7; temperature every 4 h (Fahrenheit on
223761 for most stays, Celsius on 223762 for the rest); GCS every ~3 h as MIMIC-IV's texts with
valuenum; FiO2 (percent, as MIMIC-IV charts it) only for stays on oxygen; capillary refill for
about half the stays; glucose and pH for the stays that need them; height and weight once. GCS
total is not charted: MIMIC-IV has no GCS-total item (itemid 198 is MIMIC-III CareVue only).
About 0.3 % of vital rows are charting errors outside the physiological range (warning = 1).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from emerge.data.synth.conditions import CONDITIONS
from emerge.data.synth.dictionaries import CHART_ITEMS
from emerge.data.synth.grid import grid, to_charttime
from emerge.data.synth.physiology import Physiology
from emerge.data.synth.schema import SCHEMAS
from emerge.data.synth.tables import StayArrays

__all__ = ["chartevents", "GCS_EYE", "GCS_VERBAL", "GCS_MOTOR"]

GCS_EYE = {4: "Spontaneously", 3: "To Speech", 2: "To Pain", 1: "None"}
GCS_VERBAL = {
    5: "Oriented",
    4: "Confused",
    3: "Inappropriate Words",
    2: "Incomprehensible sounds",
    1: "No Response",
}
GCS_MOTOR = {
    6: "Obeys Commands",
    5: "Localizes Pain",
    4: "Flex-withdraws",
    3: "Abnormal Flexion",
    2: "Abnormal extension",
    1: "No response",
}
_ERROR_RATE = 0.003


class _Rows:
    """Accumulates chart rows as numpy columns; `frame` builds one polars table."""

    def __init__(self, stays: StayArrays, rng: np.random.Generator):
        self.stays, self.rng, self.parts = stays, rng, []

    def add(
        self,
        stay: np.ndarray,
        hours: np.ndarray,
        itemid: int,
        valuenum: np.ndarray | None,
        text: np.ndarray | None = None,
        decimals: int = 0,
        warning: np.ndarray | None = None,
    ) -> None:
        n = len(stay)
        if n == 0:
            return
        if text is None:
            rounded = np.round(valuenum, decimals)
            s = pl.Series(rounded)
            value = (s.cast(pl.Int64) if decimals == 0 else s).cast(pl.String)
            num = pl.Series(rounded, dtype=pl.Float64)
        else:
            value = pl.Series(text, dtype=pl.String)
            num = (
                pl.Series(valuenum, dtype=pl.Float64)
                if valuenum is not None
                else pl.repeat(None, n, dtype=pl.Float64, eager=True)
            )
        unit = CHART_ITEMS[itemid][3]
        self.parts.append(
            pl.DataFrame(
                {
                    "stay_idx": stay,
                    "charttime": to_charttime(self.stays.intime, stay, hours),
                    "itemid": np.full(n, itemid, dtype=np.int64),
                    "value": value,
                    "valuenum": num,
                    "valueuom": pl.repeat(unit, n, dtype=pl.String, eager=True),
                    "warning": np.zeros(n, dtype=np.int64) if warning is None else warning.astype(np.int64),
                }
            )
        )

    def frame(self) -> pl.DataFrame:
        df = pl.concat(self.parts).with_row_index("_row")
        st, n = self.stays, df.height
        idx = df["stay_idx"].to_numpy()
        storetime = df["charttime"].to_numpy() + self.rng.integers(1, 46, size=n) * 60
        df = df.with_columns(
            subject_id=pl.Series(st.subject_id[idx]),
            hadm_id=pl.Series(st.hadm_id[idx]),
            stay_id=pl.Series(st.stay_id[idx]),
            caregiver_id=pl.Series(self.rng.integers(10000, 99999, size=n)),
            storetime=pl.Series(storetime),
        ).sort(["subject_id", "stay_id", "charttime", "itemid", "_row"])
        return df.with_columns(pl.from_epoch("charttime", "s"), pl.from_epoch("storetime", "s")).select(
            [pl.col(c).cast(t) for c, t in SCHEMAS["icu/chartevents"].items()]
        )


def _with_errors(v: np.ndarray, high: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    bad = rng.random(len(v)) < _ERROR_RATE
    return np.where(bad, high * rng.uniform(1.2, 3.0, size=len(v)), v), bad


def chartevents(stays: StayArrays, phys: Physiology, rng: np.random.Generator) -> pl.DataFrame:
    """All chart rows of all stays, sorted by subject, stay and charttime."""
    rows = _Rows(stays, rng)
    S = len(stays)
    los = (stays.outtime - stays.intime) / 3600.0
    everyone = np.ones(S, dtype=bool)
    names = [c.name for c in CONDITIONS]
    has = {n: stays.conditions[:, i] for i, n in enumerate(names)}

    # Vitals: roughly hourly for 72 h, 4-hourly after; a third of stays have an arterial line.
    st, h = grid(los, everyone, rng, 1.0, late_step=4.0, cap=120.0, jitter=0.25, keep=0.82)
    art = rng.random(S) < 0.33
    hr, bad = _with_errors(phys.value("heart_rate", st, h, rng), 350, rng)
    keep = rng.random(len(st)) < 0.98
    rows.add(st[keep], h[keep], 220045, hr[keep], warning=bad[keep])
    sbp, dbp = phys.value("systolic_bp", st, h, rng), phys.value("diastolic_bp", st, h, rng)
    dbp = np.minimum(dbp, sbp - 15)
    mbp = (sbp + 2 * dbp) / 3 + phys.value("mean_bp", st, h, rng)
    nibp = ~art[st] | (rng.random(len(st)) < 0.15)
    for use, items in ((nibp, (220179, 220180, 220181)), (art[st], (220050, 220051, 220052))):
        sb, b = _with_errors(sbp, 375, rng)
        rows.add(st[use], h[use], items[0], sb[use], warning=b[use])
        rows.add(st[use], h[use], items[1], dbp[use])
        rows.add(st[use], h[use], items[2], mbp[use])
    for sig, item, high in (("respiratory_rate", 220210, 330), ("spo2", 220277, 100)):
        keep = rng.random(len(st)) < 0.95
        v, b = _with_errors(phys.value(sig, st, h, rng), high, rng)
        rows.add(st[keep], h[keep], item, v[keep], warning=b[keep])
    rhythm = np.where(
        has["atrial fibrillation"][st],
        "AF (Atrial Fibrillation)",
        np.where(
            phys.value("heart_rate", st, h, rng, noise=False) > 100,
            "ST (Sinus Tachycardia)",
            "SR (Sinus Rhythm)",
        ),
    )
    every4 = (np.arange(len(st)) % 4) == 0
    rows.add(st[every4], h[every4], 220048, None, text=rhythm[every4])

    # Temperature every ~4 h; Fahrenheit for most stays.
    st, h = grid(los, everyone, rng, 4.0, late_step=6.0, jitter=0.6, keep=0.9)
    temp_c, bad = _with_errors(phys.value("temperature", st, h, rng), 47, rng)
    fahr = (rng.random(S) < 0.85)[st]
    rows.add(st[fahr], h[fahr], 223761, temp_c[fahr] * 9 / 5 + 32, decimals=1, warning=bad[fahr])
    rows.add(st[~fahr], h[~fahr], 223762, temp_c[~fahr], decimals=1, warning=bad[~fahr])

    # FiO2 in percent for stays on oxygen; ventilator settings (not benchmark items) when ventilated.
    st, h = grid(los, phys.on_oxygen, rng, 2.0, jitter=0.5, keep=0.8)
    fio2 = 21 + 9 + 20 * phys.ventilated[st] + phys.value("fio2", st, h, rng)
    rows.add(st, h, 223835, np.clip(np.round(fio2 / 5) * 5, 21, 100))
    st, h = grid(los, phys.ventilated, rng, 4.0, jitter=0.5, keep=0.9)
    rows.add(st, h, 220339, rng.choice([5.0, 8.0, 10.0, 12.0], size=len(st)))
    rows.add(st, h, 224684, rng.choice([400.0, 450.0, 500.0], size=len(st)))

    # GCS every 2-4 h, as MIMIC-IV texts with valuenum.
    st, h = grid(los, everyone, rng, 3.0, late_step=6.0, jitter=1.0, keep=0.9)
    deficit = np.rint(phys.value("gcs", st, h, rng)).astype(int)
    verbal_loss = np.minimum((deficit + 1) // 2, 4)
    eye_loss = np.minimum(deficit // 3, 3)
    motor_loss = np.clip(deficit - verbal_loss - eye_loss, 0, 5)
    eye, verbal, motor = 4 - eye_loss, 5 - verbal_loss, 6 - motor_loss
    ett = phys.ventilated[st]
    verbal_text = np.where(ett, "No Response-ETT", np.vectorize(GCS_VERBAL.get)(verbal))
    rows.add(st, h, 220739, eye.astype(float), text=np.vectorize(GCS_EYE.get)(eye))
    rows.add(st, h, 223900, np.where(ett, 1, verbal).astype(float), text=verbal_text)
    rows.add(st, h, 223901, motor.astype(float), text=np.vectorize(GCS_MOTOR.get)(motor))
    rass = np.where(ett, "-3 Moderate sedation", np.where(deficit > 3, "-1 Drowsy", "0  Alert and calm"))
    some = rng.random(len(st)) < 0.6
    rows.add(st[some], h[some], 228096, None, text=rass[some])

    # Capillary refill for about half the stays.
    st, h = grid(los, rng.random(S) < 0.55, rng, 6.0, jitter=1.0, keep=0.8)
    abnormal = rng.random(len(st)) < phys.value("cap_refill", st, h, rng, noise=False)
    text = np.where(abnormal, "Abnormal >3 Seconds", "Normal <3 Seconds")
    left = rng.random(len(st)) < 0.5
    rows.add(st[~left], h[~left], 223951, None, text=text[~left])
    rows.add(st[left], h[left], 224308, None, text=text[left])

    # Glucose finger sticks for diabetics and hyperglycemic stays; serum glucose for some; arterial pH.
    diabetic = has["type 2 diabetes mellitus"] | has["diabetic ketoacidosis"]
    st, h = grid(los, diabetic | (rng.random(S) < 0.15), rng, 6.0, jitter=1.0, keep=0.9)
    rows.add(st, h, 225664, phys.value("glucose", st, h, rng))
    st, h = grid(los, rng.random(S) < 0.2, rng, 12.0, jitter=2.0, keep=0.9)
    rows.add(st, h, 220621, phys.value("glucose", st, h, rng))
    abg = phys.ventilated | (stays.severity > 1.5) | has["diabetic ketoacidosis"]
    st, h = grid(los, abg & (rng.random(S) < 0.5), rng, 8.0, jitter=2.0, keep=0.9)
    rows.add(st, h, 223830, phys.value("ph", st, h, rng), decimals=2)

    # Height and weight once near admission; daily weights for some.
    first = np.minimum(rng.uniform(0.2, 6.0, size=S), los - 0.1)
    sid = np.arange(S)
    male = rng.random(S) < 0.5  # height is not tied to the recorded sex; it only needs to be plausible
    height_cm = rng.normal(163, 8, size=S) + 12 * male
    weight = phys.value("weight", sid, first, rng)
    h_mask, inch = rng.random(S) < 0.7, rng.random(S) < 0.15
    rows.add(sid[h_mask & ~inch], first[h_mask & ~inch], 226730, height_cm[h_mask & ~inch])
    rows.add(sid[h_mask & inch], first[h_mask & inch], 226707, height_cm[h_mask & inch] / 2.54)
    w_mask, lbs = rng.random(S) < 0.85, rng.random(S) < 0.15
    rows.add(sid[w_mask & ~lbs], first[w_mask & ~lbs], 226512, weight[w_mask & ~lbs], decimals=1)
    rows.add(sid[w_mask & lbs], first[w_mask & lbs], 226531, weight[w_mask & lbs] * 2.20462, decimals=1)
    st, h = grid(los, rng.random(S) < 0.4, rng, 24.0, late_step=24.0, jitter=2.0, keep=0.9)
    rows.add(st, h, 224639, phys.value("weight", st, h, rng), decimals=1)

    # Code status once, early (a non-benchmark item that mirrors the goals-of-care facts).
    code = np.where(
        has["palliative care"],
        "Comfort measures only",
        np.where(has["do not resuscitate"], "DNR / DNI", "Full code"),
    )
    charted = rng.random(S) < 0.9
    rows.add(
        sid[charted],
        np.minimum(rng.uniform(0.3, 4.0, size=S), los - 0.1)[charted],
        223758,
        None,
        text=code[charted],
    )
    return rows.frame()
