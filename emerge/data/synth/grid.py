"""Irregular charting times: per-stay grids with jitter, random gaps and a horizon, fully vectorised.

A grid for a set of stays charts every `step` hours from a random start up to `horizon` hours (or
the ICU outtime if earlier), then every `late_step` hours up to `cap` hours; each time is jittered
and kept with probability `keep`, so real gaps appear. Rows are returned as (stay index, hours since
intime), never outside [intime, outtime].
"""

from __future__ import annotations

import numpy as np

__all__ = ["ragged_arange", "grid", "to_charttime"]


def ragged_arange(counts: np.ndarray) -> np.ndarray:
    """[0..n0-1, 0..n1-1, ...] for counts [n0, n1, ...] -> (sum(counts),)."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


def _regular(
    idx: np.ndarray, start: np.ndarray, end: np.ndarray, step: float
) -> tuple[np.ndarray, np.ndarray]:
    n = np.where(end >= start, np.floor((end - start) / step).astype(np.int64) + 1, 0)
    stay = np.repeat(idx, n)
    hours = np.repeat(start, n) + ragged_arange(n) * step
    return stay, hours


def grid(
    los_hours: np.ndarray,
    subset: np.ndarray,
    rng: np.random.Generator,
    step: float,
    horizon: float = 72.0,
    late_step: float | None = None,
    cap: float = 168.0,
    jitter: float = 0.2,
    keep: float = 0.9,
) -> tuple[np.ndarray, np.ndarray]:
    """Charting rows for the stays where `subset` (S,) is True.

    Returns (stay index (N,), hours since intime (N,)), ordered by stay then time.
    """
    idx = np.flatnonzero(subset)
    los = los_hours[idx]
    start = rng.uniform(0.05, min(step, 1.0) if step < 1.0 else step * 0.5, size=len(idx))
    s1, h1 = _regular(idx, start, np.minimum(los, horizon) - 0.05, step)
    parts_s, parts_h = [s1], [h1]
    if late_step is not None:
        s2, h2 = _regular(
            idx, np.full(len(idx), horizon + late_step / 2), np.minimum(los, cap) - 0.05, late_step
        )
        parts_s.append(s2)
        parts_h.append(h2)
    stay, hours = np.concatenate(parts_s), np.concatenate(parts_h)
    hours = hours + rng.uniform(-jitter, jitter, size=len(hours))
    hours = np.clip(hours, 0.02, los_hours[stay] - 0.02)
    kept = rng.random(len(hours)) < keep
    order = np.lexsort((hours[kept], stay[kept]))
    return stay[kept][order], hours[kept][order]


def to_charttime(intime: np.ndarray, stay: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Seconds since 1970, on the minute, never before intime -> (N,) int64."""
    t = intime[stay] + np.round(hours * 3600).astype(np.int64)
    t = t // 60 * 60
    return np.where(t < intime[stay], t + 60, t)
