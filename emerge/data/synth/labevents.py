"""hosp/labevents: lab panels every 4-12 h for the first 72 h of each ICU stay, daily after.

Every panel draws chemistry (glucose 50931, creatinine 50912, potassium 50971, sodium, urea
nitrogen, bicarbonate) and hematology (WBC, hemoglobin, platelets); blood gases (pH 50820,
lactate) for stays that need them; liver tests and INR on the first panel of each day; troponin on
early panels of cardiac stays. The first panel is often drawn before ICU admission (in the ED).
Like MIMIC-IV, chemistry glucose carries a comment and the value "___" with the number in valuenum.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from emerge.data.synth.conditions import CONDITIONS
from emerge.data.synth.dictionaries import LAB_ITEMS
from emerge.data.synth.physiology import SIGNALS, Physiology
from emerge.data.synth.schema import SCHEMAS
from emerge.data.synth.tables import StayArrays

__all__ = ["labevents"]

_PANEL_MAX = 24
# itemid -> (signal, decimals)
_CHEM = {
    50931: ("glucose", 0),
    50912: ("creatinine", 1),
    50971: ("potassium", 1),
    50983: ("sodium", 0),
    51006: ("bun", 0),
    50882: ("bicarbonate", 0),
}
_HEME = {51301: ("wbc", 1), 51222: ("hemoglobin", 1), 51265: ("platelets", 0)}
_GAS = {50820: ("ph", 2), 50813: ("lactate", 1)}
_DAILY = {50885: ("bilirubin", 1), 51237: ("inr", 1)}
_TROP = {51003: ("troponin", 2)}
_GLUCOSE_COMMENT = "If fasting, 70-100 normal, >125 provisional diabetes."


def _text_where(mask: np.ndarray, text: str) -> pl.Series:
    """`text` where mask is True, null elsewhere."""
    return pl.select(
        pl.when(pl.Series(mask)).then(pl.lit(text)).otherwise(pl.lit(None, pl.String))
    ).to_series()


def _panels(
    stays: StayArrays, adm_start: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(stay index (P,), hours since intime (P,)) of every panel; the first may precede intime."""
    S = len(stays)
    los = (stays.outtime - stays.intime) / 3600.0
    gaps = np.where(np.arange(_PANEL_MAX) < 8, rng.uniform(4, 12, size=(S, _PANEL_MAX)), 24.0)  # (S, M)
    first = rng.uniform(-4.0, 2.0, size=(S, 1))
    hours = first + np.concatenate([np.zeros((S, 1)), np.cumsum(gaps[:, 1:], axis=1)], axis=1)  # (S, M)
    early = (hours <= 72) | (np.arange(_PANEL_MAX) >= 8)
    ok = early & (hours < np.minimum(los, 168)[:, None] - 0.1)
    ok[:, 0] = True  # at least one panel per stay
    stay = np.repeat(np.arange(S), _PANEL_MAX).reshape(S, _PANEL_MAX)[ok]
    h = hours[ok]
    lowest = (adm_start[stay] - stays.intime[stay]) / 3600.0 + 0.1  # never before admission
    return stay, np.clip(np.maximum(h, lowest), None, los[stay] - 0.1)


def labevents(
    stays: StayArrays, adm_start: np.ndarray, phys: Physiology, rng: np.random.Generator
) -> pl.DataFrame:
    """All lab rows of all stays; `adm_start` (S,) is each stay's admittime in seconds."""
    stay, hours = _panels(stays, adm_start, rng)
    P = len(stay)
    panel_rank = np.arange(P) - np.searchsorted(stay, stay)  # 0 for the first panel of a stay
    names = [c.name for c in CONDITIONS]
    cond = {n: stays.conditions[:, i] for i, n in enumerate(names)}
    gas_stay = (
        phys.ventilated
        | (phys.shift[:, list(SIGNALS).index("ph")] < -0.03)
        | (stays.severity > 1.2)
        | (rng.random(len(stays)) < 0.2)
    )
    cardiac = cond["non-ST elevation myocardial infarction"] | cond["heart failure"]
    groups = [
        (_CHEM, np.ones(P, bool)),
        (_HEME, np.ones(P, bool)),
        (_GAS, gas_stay[stay] & (rng.random(P) < 0.7)),
        (_DAILY, (panel_rank == 0) | (np.floor(hours / 24) != np.floor(np.roll(hours, 1) / 24))),
        (_TROP, cardiac[stay] & (panel_rank < 3)),
    ]
    parts = []
    for g, (items, mask) in enumerate(groups):
        st, h = stay[mask], hours[mask]
        specimen = rng.integers(1_000_000, 99_999_999, size=len(st))
        for itemid, (signal, dec) in items.items():
            label, _fluid, _cat, unit, lo, hi = LAB_ITEMS[itemid]
            v = np.round(phys.value(signal, st, h, rng), dec)
            s = pl.Series(v)
            value = (s.cast(pl.Int64) if dec == 0 else s).cast(pl.String)
            glucose = itemid == 50931
            parts.append(
                pl.DataFrame(
                    {
                        "stay_idx": st,
                        "hours": h,
                        "group": np.full(len(st), g),
                        "specimen_id": specimen,
                        "itemid": np.full(len(st), itemid, dtype=np.int64),
                        "value": pl.repeat("___", len(st), eager=True) if glucose else value,
                        "valuenum": v,
                        "valueuom": pl.repeat(unit or None, len(st), dtype=pl.String, eager=True),
                        "ref_range_lower": np.full(len(st), float(lo)),
                        "ref_range_upper": np.full(len(st), float(hi)),
                        "flag": _text_where((v < lo) | (v > hi), "abnormal"),
                        "comments": pl.repeat(
                            _GLUCOSE_COMMENT if glucose else None, len(st), dtype=pl.String, eager=True
                        ),
                    }
                )
            )
    df = pl.concat(parts)
    idx = df["stay_idx"].to_numpy()
    ct = stays.intime[idx] + np.round(df["hours"].to_numpy() * 3600).astype(np.int64)
    ct = ct // 60 * 60
    n = df.height
    u = rng.random(n)
    priority = _text_where(u < 0.55, "STAT").zip_with(pl.Series(u < 0.55), _text_where(u < 0.9, "ROUTINE"))
    df = df.with_columns(
        subject_id=pl.Series(stays.subject_id[idx]),
        hadm_id=pl.Series(stays.hadm_id[idx]),
        charttime=pl.Series(ct),
        storetime=pl.Series(ct + rng.integers(20, 120, size=n) * 60),
        order_provider_id=pl.repeat(None, n, dtype=pl.String, eager=True),
        priority=priority,
    ).sort(["subject_id", "charttime", "group", "itemid", "stay_idx"])
    df = df.with_columns(labevent_id=pl.int_range(1, n + 1, dtype=pl.Int64) + 100_000)
    return df.with_columns(pl.from_epoch("charttime", "s"), pl.from_epoch("storetime", "s")).select(
        [pl.col(c).cast(t) for c, t in SCHEMAS["hosp/labevents"].items()]
    )
