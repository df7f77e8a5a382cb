"""Mean and standard deviation of test metrics over training seeds, and their "84.57 ± 0.52" format.

The bootstrap interval of one run measures test-set sampling noise; training several seeds and
reporting mean ± std over them measures training noise. `summarize_seeds` takes one metrics dict
per seed (e.g. `evaluate_predictions(...)` plus a "seed" key) and returns

    {"seeds": [0, 1, 2], "n_seeds": 3,
     "per_seed": [{"seed": 0, "auroc": ..., "auprc": ...}, ...],
     "auroc_mean": ..., "auroc_std": ..., "auprc_mean": ..., ...}

for each metric of `SEED_METRICS` the dicts hold. The std is the sample standard deviation
(ddof=1), and 0.0 for a single seed. A metric that is NaN / None (undefined) for any seed makes its
mean and std NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from foundation.errors import UserInputError

__all__ = ["SEED_METRICS", "summarize_seeds", "format_mean_std"]

SEED_METRICS = ("auroc", "auprc", "min_p_se", "brier", "ece")


def _as_float(value: Any, metric: str, seed: Any) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise UserInputError(
            f"seed {seed}: metric {metric!r} is {value!r}, expected a number (or None when undefined)."
        )
    return float(value)


def summarize_seeds(
    per_seed: Sequence[Mapping[str, Any]], metrics: Sequence[str] = SEED_METRICS
) -> dict[str, Any]:
    """Per-seed values and `<metric>_mean` / `<metric>_std` (ddof=1; 0.0 for one seed) over seeds.

    Args:
        per_seed: one metrics dict per training seed; its "seed" key names the seed (its position in
            the list when absent). Keys other than `metrics` are ignored.
        metrics: the metrics to summarise; those absent from every dict are skipped.

    Raises:
        UserInputError: no seeds, a seed listed twice, a metric present for some seeds only, or a
            value that is not a number.
    """
    if len(per_seed) == 0:
        raise UserInputError("summarize_seeds needs the metrics of at least one seed, got none.")
    seeds = [d.get("seed", i) for i, d in enumerate(per_seed)]
    seen: set[Any] = set()
    for s in seeds:
        if s in seen:
            raise UserInputError(f"seed {s!r} appears twice in per_seed; pass each training run once.")
        seen.add(s)
    present = [k for k in metrics if any(k in d for d in per_seed)]
    for k in present:
        missing = [s for s, d in zip(seeds, per_seed, strict=True) if k not in d]
        if missing:
            raise UserInputError(
                f"metric {k!r} is missing for seed(s) {missing} but present for others; "
                "evaluate every seed the same way."
            )
    rows = [
        {"seed": s, **{k: _as_float(d[k], k, s) for k in present}}
        for s, d in zip(seeds, per_seed, strict=True)
    ]
    out: dict[str, Any] = {"seeds": seeds, "n_seeds": len(seeds), "per_seed": rows}
    for k in present:
        values = np.array([r[k] for r in rows], dtype=np.float64)  # [n_seeds]
        out[f"{k}_mean"] = float(values.mean())
        if values.size > 1:
            out[f"{k}_std"] = float(values.std(ddof=1))
        else:  # one seed: no spread, unless the value itself is undefined
            out[f"{k}_std"] = 0.0 if np.isfinite(values[0]) else float("nan")
    return out


def format_mean_std(mean: float | None, std: float | None, scale: float = 100.0, digits: int = 2) -> str:
    """`"84.57 ± 0.52"` for mean 0.84567, std 0.00523 (ranking metrics x100, the default).

    Brier and ECE read better unscaled: `format_mean_std(m, s, scale=1.0, digits=4)`.
    A missing or NaN mean gives "n/a"; a missing or NaN std gives the mean alone.
    """
    if mean is None or math.isnan(mean):
        return "n/a"
    text = f"{mean * scale:.{digits}f}"
    if std is None or math.isnan(std):
        return text
    return f"{text} ± {std * scale:.{digits}f}"
