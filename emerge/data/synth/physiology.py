"""The physiological signals behind chartevents and labevents, and how conditions move them.

A signal's value for stay i at hour h (h counted from ICU intime, capped at 72) is

    base_i + E_i * (1 + trend_i * h / 48) + det_coef * deterioration_i * h / 48 + within_sd * noise

where base_i ~ N(mean, between_sd) is the patient's own normal, E_i = intensity_i * (conditions_i @
effects) + sev_coef * severity_i is the shift the latent conditions and acute severity cause,
trend_i < 0 lets survivors recover, and deterioration_i > 0 (half the patients who will die in this
admission) makes them worse over the window. So the time series carries the outcome, but not all
of it: note-only facts (metastatic cancer, DNR, palliative care) carry the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emerge.data.synth.conditions import CONDITIONS
from emerge.data.synth.tables import StayArrays

__all__ = ["Signal", "SIGNALS", "Physiology", "draw_physiology"]


@dataclass(frozen=True)
class Signal:
    """Population model of one signal (units are those written to the tables)."""

    mean: float
    between_sd: float
    within_sd: float
    sev_coef: float
    det_coef: float
    low: float
    high: float


SIGNALS: dict[str, Signal] = {
    "heart_rate": Signal(82, 10, 5, 6, 18, 25, 220),
    "systolic_bp": Signal(122, 14, 7, -6, -22, 50, 230),
    "diastolic_bp": Signal(64, 9, 5, -3, -10, 25, 140),
    "mean_bp": Signal(0, 2, 3, -2, -6, -40, 40),  # added to (sbp + 2 dbp) / 3
    "respiratory_rate": Signal(18, 3, 2, 2, 6, 6, 50),
    "spo2": Signal(97, 1.2, 1.0, -0.8, -4, 60, 100),
    "fio2": Signal(0, 3, 4, 5, 20, 0, 79),  # percent above room air (21 %)
    "temperature": Signal(36.9, 0.3, 0.25, 0.1, 0.3, 33, 41.5),  # Celsius
    "glucose": Signal(115, 18, 18, 8, 15, 40, 900),
    "ph": Signal(7.40, 0.025, 0.02, -0.02, -0.06, 6.8, 7.7),
    "weight": Signal(80, 17, 0.8, 0, 0, 30, 220),
    "gcs": Signal(0, 0.3, 0.6, 0.6, 5, 0, 12),  # GCS deficit below 15
    "cap_refill": Signal(0.08, 0.0, 0.0, 0.08, 0.3, 0, 1),  # probability of "Abnormal >3 Seconds"
    "creatinine": Signal(0.9, 0.2, 0.08, 0.15, 0.8, 0.2, 15),
    "potassium": Signal(4.1, 0.3, 0.2, 0.05, 0.5, 2.0, 8.5),
    "sodium": Signal(139, 2.5, 1.2, 0, -2, 110, 165),
    "bun": Signal(16, 5, 2, 4, 12, 3, 150),
    "bicarbonate": Signal(24, 2, 1, -1, -5, 5, 45),
    "wbc": Signal(8, 2.5, 1.2, 1.5, 5, 0.5, 60),
    "hemoglobin": Signal(12, 1.3, 0.4, -0.3, -0.8, 4, 19),
    "platelets": Signal(230, 55, 12, -10, -60, 5, 900),
    "lactate": Signal(1.2, 0.4, 0.3, 0.5, 3, 0.3, 20),
    "bilirubin": Signal(0.7, 0.3, 0.1, 0.1, 1, 0.1, 30),
    "inr": Signal(1.1, 0.1, 0.05, 0.05, 0.4, 0.8, 8),
    "troponin": Signal(0.01, 0.005, 0.003, 0.01, 0.05, 0.01, 25),
}
_KEYS = tuple(SIGNALS)


@dataclass(frozen=True)
class Physiology:
    """Per-stay parameters of every signal; `value` evaluates the model at given rows."""

    base: np.ndarray  # (S, K) the patient's own normal
    shift: np.ndarray  # (S, K) E_i
    trend: np.ndarray  # (S,) recovery (< 0) of the shift over 48 h
    deterioration: np.ndarray  # (S,) >= 0
    ventilated: np.ndarray  # (S,) bool
    on_oxygen: np.ndarray  # (S,) bool

    def value(
        self, signal: str, stay: np.ndarray, hours: np.ndarray, rng: np.random.Generator, noise: bool = True
    ) -> np.ndarray:
        """Signal values at rows (stay index (N,), hours since intime (N,)) -> (N,), clipped to the
        signal's plausible range."""
        k, sig = _KEYS.index(signal), SIGNALS[signal]
        frac = np.minimum(hours, 72.0) / 48.0
        v = (
            self.base[stay, k]
            + self.shift[stay, k] * (1.0 + self.trend[stay] * frac)
            + sig.det_coef * self.deterioration[stay] * frac
        )
        if noise and sig.within_sd > 0:
            v = v + sig.within_sd * rng.standard_normal(len(stay))
        return np.clip(v, sig.low, sig.high)


def _effect_matrix() -> np.ndarray:
    """(C, K) shift of each signal per condition at intensity 1."""
    out = np.zeros((len(CONDITIONS), len(_KEYS)))
    for c, cond in enumerate(CONDITIONS):
        for name, delta in cond.effects.items():
            if name not in SIGNALS:
                raise ValueError(
                    f"condition {cond.name!r} moves unknown signal {name!r}; valid: {list(SIGNALS)}"
                )
            out[c, _KEYS.index(name)] = delta
    return out


def draw_physiology(stays: StayArrays, rng: np.random.Generator) -> Physiology:
    """Draw every stay's signal parameters from its conditions, severity and fate."""
    n = len(stays)
    mean = np.array([SIGNALS[k].mean for k in _KEYS])
    between = np.array([SIGNALS[k].between_sd for k in _KEYS])
    sev_coef = np.array([SIGNALS[k].sev_coef for k in _KEYS])
    base = mean + between * rng.standard_normal((n, len(_KEYS)))  # (S, K)
    intensity = rng.uniform(0.6, 1.4, size=(n, 1))
    severity = np.maximum(stays.severity, 0.0)[:, None]
    shift = intensity * (stays.conditions.astype(float) @ _effect_matrix()) + sev_coef * severity  # (S, K)
    dying = stays.deterioration > 0
    trend = np.where(dying, rng.uniform(-0.4, 0.0, size=n), rng.uniform(-0.6, -0.1, size=n))
    names = [c.name for c in CONDITIONS]
    resp = stays.conditions[:, names.index("acute respiratory failure")]
    ventilated = resp & (rng.random(n) < 0.8)
    fio2_k = _KEYS.index("fio2")
    on_oxygen = ventilated | (shift[:, fio2_k] > 5) | (rng.random(n) < 0.25)
    return Physiology(base, shift, trend, stays.deterioration.astype(float), ventilated, on_oxygen)
