"""All metrics of one model on one task, as the flat dict that `metrics.json` stores.

`evaluate_predictions(y, p)` returns
`{"auroc", "auprc", "min_p_se", "auroc_ci", "auprc_ci", "min_p_se_ci", "auroc_std", "auprc_std",
"min_p_se_std", "auroc_boot_mean", ..., "brier", "ece", "n", "positives", "n_bootstrap",
"n_bootstrap_valid"}`.
Point values are computed on the whole test set; `*_ci` are 95 % percentile intervals and `*_std`
the standard deviation over bootstrap resamples (EMERGE reports mean +- std over resamples; the
bootstrap mean is stored as `*_boot_mean`). Stays whose label is NaN (unknown) are left out and
counted in `n_unlabeled`. Undefined values (single-class test set) are NaN in Python and `null`
in JSON, always with a warning.
"""

from __future__ import annotations

import logging

import numpy as np

from emerge.metrics.bootstrap import bootstrap_ci
from emerge.metrics.calibration import expected_calibration_error
from emerge.metrics.classification import auprc, auroc, brier, min_p_se
from foundation.errors import UserInputError

__all__ = ["RANKING_METRICS", "evaluate_predictions"]

logger = logging.getLogger(__name__)

RANKING_METRICS = ("auroc", "auprc", "min_p_se")


def evaluate_predictions(
    y_true, y_prob, n_bootstrap: int = 1000, seed: int = 0, n_bins: int = 10, name: str = "predictions"
) -> dict[str, float | int | list[float]]:
    """Score `y_prob` [N] against `y_true` [N] (0/1, NaN = unknown label, left out)."""
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_prob, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise UserInputError(f"{name}: {y.size} labels but {p.size} scores; pass one score per label.")
    known = ~np.isnan(y)
    if not known.any():
        raise UserInputError(f"{name}: every label is NaN (unknown); nothing to evaluate.")
    if not known.all():
        logger.info("%s: leaving out %d stays with unknown labels", name, int((~known).sum()))
    y, p = y[known], p[known]
    out: dict[str, float | int | list[float]] = {
        "auroc": auroc(y, p, name),
        "auprc": auprc(y, p, name),
        "min_p_se": min_p_se(y, p, name),
    }
    boot = bootstrap_ci(y, p, n_resamples=n_bootstrap, seed=seed, name=name)
    for key in RANKING_METRICS:
        out[f"{key}_ci"] = [boot[key].ci[0], boot[key].ci[1]]
        out[f"{key}_std"] = boot[key].std
        out[f"{key}_boot_mean"] = boot[key].mean
    out["brier"] = brier(y, p, name)
    out["ece"] = expected_calibration_error(y, p, n_bins=n_bins, name=name)
    out["n"] = int(y.size)
    out["positives"] = int(y.sum())
    out["n_unlabeled"] = int((~known).sum())
    out["n_bootstrap"] = int(n_bootstrap)
    out["n_bootstrap_valid"] = boot["auroc"].n_valid
    return out
