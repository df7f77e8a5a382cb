"""Calibration: reliability bins and the expected calibration error (ECE).

Pure functions. Bins are `n_bins` equal-width intervals of [0, 1]; bin k holds the scores in
[k/n, (k+1)/n) and the last bin also holds 1.0. Empty bins are kept (count 0, NaN means) so the
arrays always have `n_bins` entries and plots from different models line up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emerge.metrics.classification import check_binary_inputs
from foundation.errors import UserInputError

__all__ = ["ReliabilityBins", "reliability_bins", "expected_calibration_error"]


@dataclass(frozen=True)
class ReliabilityBins:
    """Per-bin statistics of a reliability diagram; every array has shape [n_bins].

    Attributes:
        edges: [n_bins + 1] bin edges from 0 to 1.
        mean_predicted: mean score of the stays in the bin (NaN when empty).
        fraction_positive: observed fraction of positive stays in the bin (NaN when empty).
        count: number of stays in the bin.
    """

    edges: np.ndarray
    mean_predicted: np.ndarray
    fraction_positive: np.ndarray
    count: np.ndarray


def reliability_bins(y_true, y_prob, n_bins: int = 10, name: str = "predictions") -> ReliabilityBins:
    """Group scores into `n_bins` equal-width bins and return each bin's mean score and positive rate."""
    if n_bins < 1:
        raise UserInputError(f"n_bins must be >= 1, got {n_bins}.")
    y, p = check_binary_inputs(y_true, y_prob, name)
    if p.min() < 0.0 or p.max() > 1.0:
        raise UserInputError(
            f"{name}: calibration needs probabilities in [0, 1], found range [{p.min():.3g}, {p.max():.3g}]; "
            "apply a sigmoid to logits first."
        )
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # [N] bin index in 0..n_bins-1; a score of exactly 1.0 goes to the last bin.
    idx = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y.astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.where(count > 0, sum_p / count, np.nan)
        fraction_positive = np.where(count > 0, sum_y / count, np.nan)
    return ReliabilityBins(
        edges=edges, mean_predicted=mean_predicted, fraction_positive=fraction_positive, count=count
    )


def expected_calibration_error(y_true, y_prob, n_bins: int = 10, name: str = "predictions") -> float:
    """ECE = sum over non-empty bins of (count_k / N) * |fraction_positive_k - mean_predicted_k|."""
    bins = reliability_bins(y_true, y_prob, n_bins=n_bins, name=name)
    keep = bins.count > 0
    weights = bins.count[keep] / bins.count.sum()
    return float(np.sum(weights * np.abs(bins.fraction_positive[keep] - bins.mean_predicted[keep])))
