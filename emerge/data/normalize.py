"""Normalization and imputation of the hourly time series, fitted on the training split.

Numeric variables (and age): mean and standard deviation from the training split's observed values
that lie inside its 5th-95th percentile (so charting outliers do not inflate the scale); median of
all observed training values. A stay's series is forward-filled; steps before its first value get
the training median; then z = (x - mean) / std.
Categorical variables: forward-filled category; before the first value the training split's most
frequent category; then one-hot over the benchmark's categories (47 columns for the 5 variables).
A variable never observed in training (e.g. all of chartevents' when the table is absent) gets
z = 0 / an all-zero one-hot everywhere, with a warning.

Numeric variables follow EMERGE's preprocessing (yhzhu99/ehr-datasets utils/tools.py,
`normalize_dataframe` and `forward_fill_pipeline`), which trims strictly inside the percentiles, uses
the sample standard deviation and the trimmed median, and sets |z| > 1e4 to 0. Categorical variables
do not: EMERGE fills every one-hot column with -1 before a variable's first observation. The MIMIC-III
benchmark (Harutyunyan et al.) fills that gap with fixed normal values instead. docs/data.md compares
the three.

`Normalizer` holds the statistics, saves them as `normalizer.json` and loads them back, so a model
trained on one dataset can be applied to another with the same scaling.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emerge.data.variables import BENCHMARK_CATEGORIES, CATEGORICAL_VARIABLES, NUMERIC_VARIABLES
from foundation.artifacts import atomic_write_text
from foundation.errors import ArtifactError

__all__ = ["NumericStats", "Normalizer", "robust_stats", "forward_fill", "feature_names"]

logger = logging.getLogger(__name__)

NORMALIZER_KIND, NORMALIZER_VERSION = "ehr_normalizer", 1


@dataclass(frozen=True)
class NumericStats:
    """mean / std inside the 5th-95th percentile, and median; None when nothing was observed."""

    mean: float | None
    std: float | None
    median: float | None


def robust_stats(values: np.ndarray, low_pct: float = 5, high_pct: float = 95) -> NumericStats:
    """Statistics of the finite entries of `values` (any shape); see the module docs."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return NumericStats(None, None, None)
    lo, hi = np.percentile(v, [low_pct, high_pct])
    inner = v[(v >= lo) & (v <= hi)]
    if inner.size == 0:  # two distinct values: both fall outside the interpolated percentiles
        inner = v
    std = float(inner.std())
    return NumericStats(float(inner.mean()), std if std > 0 else 1.0, float(np.median(v)))


def forward_fill(values: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs along axis 1 of [N, T, F]; leading NaNs stay NaN."""
    n, t, f = values.shape
    idx = np.where(np.isfinite(values), np.arange(t)[None, :, None], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    filled = np.take_along_axis(values, idx, axis=1)
    # Steps before the first observation point at index 0, which may itself be missing: keep NaN.
    seen = np.maximum.accumulate(np.isfinite(values), axis=1)
    return np.where(seen, filled, np.nan)


def feature_names() -> list[str]:
    """The 61 input columns in order: 47 one-hot (`gcs_eye=To Pain`, ...), 12 numeric, sex, age."""
    names = [f"{v.name}={c}" for v in CATEGORICAL_VARIABLES for c in BENCHMARK_CATEGORIES[v.name]]
    return names + [v.name for v in NUMERIC_VARIABLES] + ["sex", "age"]


@dataclass(frozen=True)
class Normalizer:
    """Training-split statistics: per numeric variable, per categorical variable's mode, and age."""

    numeric: dict[str, NumericStats]
    categorical_mode: dict[str, int | None]
    age: NumericStats

    @classmethod
    def fit(cls, numeric: np.ndarray, codes: np.ndarray, age: np.ndarray) -> Normalizer:
        """Fit on the training stays. numeric [n, T, 12] raw (NaN missing); codes [n, T, 5] category
        index (-1 missing); age [n]."""
        stats = {v.name: robust_stats(numeric[:, :, j]) for j, v in enumerate(NUMERIC_VARIABLES)}
        modes: dict[str, int | None] = {}
        for j, v in enumerate(CATEGORICAL_VARIABLES):
            observed = codes[:, :, j][codes[:, :, j] >= 0]
            modes[v.name] = int(np.bincount(observed).argmax()) if observed.size else None
        missing = [k for k, s in stats.items() if s.mean is None] + [k for k, m in modes.items() if m is None]
        if missing:
            logger.warning(
                "never observed in the training split (features constant 0): %s", ", ".join(missing)
            )
        return cls(stats, modes, robust_stats(age.astype(np.float64)))

    def transform(
        self, numeric: np.ndarray, codes: np.ndarray, male: np.ndarray, age: np.ndarray
    ) -> np.ndarray:
        """Impute and scale. numeric [N, T, 12], codes [N, T, 5], male [N] 0/1, age [N]
        -> x [N, T, 61] float32."""
        n, t, _ = numeric.shape
        filled = forward_fill(numeric.astype(np.float64))
        z = np.zeros_like(filled)
        for j, v in enumerate(NUMERIC_VARIABLES):
            s = self.numeric[v.name]
            if s.mean is None:
                continue
            col = np.where(np.isnan(filled[:, :, j]), s.median, filled[:, :, j])
            z[:, :, j] = (col - s.mean) / s.std
        onehots = []
        code_filled = forward_fill(np.where(codes >= 0, codes, np.nan).astype(np.float64))
        for j, v in enumerate(CATEGORICAL_VARIABLES):
            width = len(BENCHMARK_CATEGORIES[v.name])
            mode = self.categorical_mode[v.name]
            col = np.where(np.isnan(code_filled[:, :, j]), -1 if mode is None else mode, code_filled[:, :, j])
            onehots.append((col[:, :, None] == np.arange(width)[None, None, :]).astype(np.float64))
        a = self.age
        age_z = np.zeros(n) if a.mean is None else (age.astype(np.float64) - a.mean) / a.std
        static = np.stack([male.astype(np.float64), age_z], axis=-1)[:, None, :].repeat(t, axis=1)
        return np.concatenate(onehots + [z, static], axis=-1).astype(np.float32)

    def to_dict(self) -> dict:
        return {
            "kind": NORMALIZER_KIND,
            "format_version": NORMALIZER_VERSION,
            "numeric": {k: asdict(s) for k, s in self.numeric.items()},
            "categorical_mode": self.categorical_mode,
            "age": asdict(self.age),
            "feature_names": feature_names(),
        }

    def save(self, path: str | Path) -> None:
        """Write the statistics as JSON (atomically)."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Normalizer:
        """Read statistics written by `save`; raises `ArtifactError` saying what to do if they do not fit."""
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(
                f"normalizer file {path} not found; pass the normalizer.json of a built dataset"
            )
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("kind") != NORMALIZER_KIND or body.get("format_version") != NORMALIZER_VERSION:
            raise ArtifactError(
                f"{path} is not a {NORMALIZER_KIND} v{NORMALIZER_VERSION} file "
                f"(kind={body.get('kind')!r}, format_version={body.get('format_version')}); rebuild it"
            )
        expected = {v.name for v in NUMERIC_VARIABLES}
        if set(body["numeric"]) != expected:
            raise ArtifactError(
                f"{path} has statistics for {sorted(body['numeric'])}, expected {sorted(expected)}; "
                f"it was written for other variables: rebuild it"
            )
        return cls(
            {k: NumericStats(**s) for k, s in body["numeric"].items()},
            {k: (None if m is None else int(m)) for k, m in body["categorical_mode"].items()},
            NumericStats(**body["age"]),
        )
