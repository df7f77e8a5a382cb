"""Metrics per patient subgroup (sex, age band, ...): does the model work as well for everyone?

`subgroup_metrics(y, p, {"sex": sex, "age": age_bands(age)})` returns

    {"sex": {"F": {"n": 412, "positives": 51, "auroc": 0.83, "auprc": 0.41, "brier": 0.08, "ece": 0.02},
             "M": {...}},
     "age": {"18-44": {...}, "45-64": {...}, "65-79": {...}, "80+": {"n": 31, "positives": 4,
             "auroc": "n too small", "auprc": "n too small", "brier": "n too small", "ece": "n too small"}}}

Rules:
- A subgroup is one distinct value of a grouping array, written as a string (`str(value)`);
  subgroups are listed in sorted order. Missing values (None, NaN, "") form the subgroup "unknown",
  listed last, so the subgroups' n always add up to the labelled stays.
- Stays whose label is NaN (unknown) are left out, as in `evaluate_predictions`.
- A subgroup with fewer than `min_n` stays, or fewer than `min_positives` stays of either class
  (positive or negative), gets the string "n too small" (`TOO_SMALL`) instead of each metric: its
  estimates would be too noisy to read. `n` and `positives` are always reported.
- AUROC, AUPRC (average precision), Brier score and ECE (`n_bins` equal-width bins) are the
  functions of `emerge.metrics.classification` / `calibration`, so they match the whole-test-set
  numbers exactly when a subgroup holds every stay.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from emerge.metrics.calibration import expected_calibration_error
from emerge.metrics.classification import auprc, auroc, brier, check_binary_inputs
from foundation.errors import UserInputError

__all__ = ["AGE_BANDS", "TOO_SMALL", "UNKNOWN", "age_bands", "subgroup_metrics"]

logger = logging.getLogger(__name__)

AGE_BANDS = ("18-44", "45-64", "65-79", "80+")
TOO_SMALL = "n too small"
UNKNOWN = "unknown"
SUBGROUP_METRICS = ("auroc", "auprc", "brier", "ece")


def age_bands(age) -> np.ndarray:
    """Age in years [N] -> band label [N] (object array of str).

    Bands: "18-44" (18 <= age < 45), "45-64", "65-79", "80+" (`AGE_BANDS`); ages under 18 give
    "0-17" and NaN gives "unknown". MIMIC-III's shifted ages of patients over 89 (around 300) fall
    in "80+". Negative ages raise `UserInputError`.
    """
    a = np.asarray(age, dtype=np.float64).reshape(-1)
    if (a < 0).any():
        raise UserInputError(
            f"age holds negative values (first: {a[a < 0][0]:g}); pass ages in years, not date offsets."
        )
    labels = np.select(
        [np.isnan(a), a < 18, a < 45, a < 65, a < 80],
        [UNKNOWN, "0-17", *AGE_BANDS[:3]],
        default=AGE_BANDS[3],
    )
    return labels.astype(object)


def _is_missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _group_keys(values, n: int, attribute: str) -> np.ndarray:
    """Grouping array [n] -> subgroup name [n] (str; missing values -> "unknown")."""
    v = np.asarray(values, dtype=object).reshape(-1)
    if v.size != n:
        raise UserInputError(
            f"group {attribute!r} has {v.size} values for {n} stays; pass one value per stay, "
            "in the order of the labels."
        )
    return np.array([UNKNOWN if _is_missing(x) else str(x) for x in v], dtype=object)


def subgroup_metrics(
    y_true,
    y_prob,
    groups: Mapping[str, Any],
    min_n: int = 50,
    min_positives: int = 5,
    n_bins: int = 10,
    name: str = "predictions",
) -> dict[str, dict[str, dict[str, float | int | str]]]:
    """AUROC, AUPRC, Brier and ECE per subgroup, with n and positives (see the module docstring).

    Args:
        y_true: [N] labels 0/1 (NaN = unknown, left out).
        y_prob: [N] probabilities in [0, 1].
        groups: attribute name -> [N] subgroup value per stay, e.g. {"sex": ["F", "M", ...],
            "age": age_bands(age)}.
        min_n: fewest stays for a subgroup's metrics to be reported.
        min_positives: fewest positive (and negative) stays for a subgroup's metrics to be reported.
        n_bins: bins of the ECE.
    """
    if min_n < 1 or min_positives < 1:
        raise UserInputError(f"min_n and min_positives must be >= 1, got {min_n} and {min_positives}.")
    if not groups:
        raise UserInputError("groups is empty; pass e.g. {'sex': sex, 'age': age_bands(age)}.")
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_prob, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise UserInputError(f"{name}: {y.size} labels but {p.size} scores; pass one score per label.")
    keys_by_attr = {attr: _group_keys(values, y.size, attr) for attr, values in groups.items()}
    known = ~np.isnan(y)
    if not known.any():
        raise UserInputError(f"{name}: every label is NaN (unknown); nothing to evaluate.")
    if not known.all():
        logger.info("%s: leaving out %d stays with unknown labels", name, int((~known).sum()))
    y, p = check_binary_inputs(y[known], p[known], name)
    out: dict[str, dict[str, dict[str, float | int | str]]] = {}
    for attr, keys in keys_by_attr.items():
        keys = keys[known]
        names = sorted(set(keys) - {UNKNOWN})
        if UNKNOWN in set(keys):
            names.append(UNKNOWN)
        out[attr] = {}
        for group in names:
            mask = keys == group
            yg, pg = y[mask], p[mask]
            positives = int(yg.sum())
            row: dict[str, float | int | str] = {"n": int(yg.size), "positives": positives}
            if yg.size < min_n or min(positives, yg.size - positives) < min_positives:
                row.update({k: TOO_SMALL for k in SUBGROUP_METRICS})
            else:
                label = f"{name} [{attr}={group}]"
                row["auroc"] = auroc(yg, pg, label)
                row["auprc"] = auprc(yg, pg, label)
                row["brier"] = brier(yg, pg, label)
                row["ece"] = expected_calibration_error(yg, pg, n_bins=n_bins, name=label)
            out[attr][group] = row
    return out
