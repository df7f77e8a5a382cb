"""Entities from the time series: abnormal values become phrases ("heart rate too high").

EMERGE marks a numeric variable abnormal when an observed value's z-score (training statistics)
exceeds 2 in absolute value. We keep EMERGE's phrase and add the clinical term a KG can link
(heart rate too high -> tachycardia), so linking does not depend on an encoder guessing it.
Only observed values count: imputed (forward-filled or median) values never make an entity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from foundation.errors import UserInputError

__all__ = ["AbnormalFeature", "CLINICAL_TERMS", "abnormal_features"]

Direction = Literal["high", "low"]

# (variable name, direction) -> the clinical term for it (HPO has all of these).
CLINICAL_TERMS: dict[tuple[str, Direction], str] = {
    ("heart_rate", "high"): "tachycardia",
    ("heart_rate", "low"): "bradycardia",
    ("systolic_bp", "high"): "hypertension",
    ("systolic_bp", "low"): "hypotension",
    ("diastolic_bp", "high"): "hypertension",
    ("diastolic_bp", "low"): "hypotension",
    ("mean_bp", "high"): "hypertension",
    ("mean_bp", "low"): "hypotension",
    ("respiratory_rate", "high"): "tachypnea",
    ("respiratory_rate", "low"): "bradypnea",
    ("spo2", "low"): "hypoxemia",
    ("temperature", "high"): "fever",
    ("temperature", "low"): "hypothermia",
    ("glucose", "high"): "hyperglycemia",
    ("glucose", "low"): "hypoglycemia",
    ("ph", "low"): "acidosis",
    ("ph", "high"): "alkalosis",
    ("fio2", "high"): "increased inspired oxygen requirement",
}


@dataclass(frozen=True)
class AbnormalFeature:
    """One abnormal variable of one stay: EMERGE's phrase, the clinical term, and how often/how far."""

    variable: str
    label: str
    direction: Direction
    count: int  # observed hours beyond the threshold
    max_abs_z: float

    @property
    def phrase(self) -> str:
        """EMERGE's form: "<feature> too high/too low"."""
        return f"{self.label} too {self.direction}"

    @property
    def clinical_term(self) -> str | None:
        return CLINICAL_TERMS.get((self.variable, self.direction))


def abnormal_features(
    z: np.ndarray,
    observed: np.ndarray,
    variables: Sequence[str],
    labels: Sequence[str],
    threshold: float = 2.0,
) -> list[AbnormalFeature]:
    """Abnormal variables of one stay, most frequent first.

    Args:
        z: [T, V] z-scores of the numeric variables (NaN where missing).
        observed: [T, V] bool, True where the value was charted (not imputed).
        variables / labels: V snake_case names and human-readable labels, in column order.
        threshold: |z| above which a value is abnormal (EMERGE: 2).
    """
    z = np.asarray(z, dtype=np.float64)
    observed = np.asarray(observed, dtype=bool)
    if (
        z.ndim != 2
        or z.shape != observed.shape
        or z.shape[1] != len(variables)
        or len(labels) != len(variables)
    ):
        raise UserInputError(
            f"abnormal_features expects z and observed of shape [T, V] with V={len(variables)} variables "
            f"and labels; got z {z.shape}, observed {observed.shape}, {len(labels)} labels"
        )
    if threshold <= 0:
        raise UserInputError(f"threshold must be positive, got {threshold}")
    valid = observed & np.isfinite(z)
    out = []
    for direction, hits in (("high", valid & (z > threshold)), ("low", valid & (z < -threshold))):
        counts = hits.sum(axis=0)
        for v in np.flatnonzero(counts):
            peak = float(np.abs(np.where(hits[:, v], z[:, v], 0.0)).max())
            out.append(AbnormalFeature(variables[v], labels[v].lower(), direction, int(counts[v]), peak))
    out.sort(key=lambda f: (-f.count, -f.max_abs_z, f.variable, f.direction))
    return out
