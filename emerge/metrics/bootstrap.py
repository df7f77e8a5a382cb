"""Bootstrap confidence intervals for AUROC, AUPRC and min(+P, Se), vectorised with numpy.

All resamples are scored at once: the resampled scores form a [B, N] matrix that is sorted once
per row, and each metric is read off cumulative sums of the sorted labels. Ties between scores are
handled like scikit-learn (one threshold per distinct score), and the results match
`roc_auc_score`, `average_precision_score` and `min_p_se` resample by resample (tested).

A resample that happens to draw a single class leaves the ranking metrics undefined; such
resamples are dropped (NaN) and counted in `n_valid`, with a warning when any are dropped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from emerge.metrics.classification import check_binary_inputs
from foundation.errors import UserInputError

__all__ = ["BootstrapSummary", "resampled_ranking_metrics", "bootstrap_ci", "summarize"]


@dataclass(frozen=True)
class BootstrapSummary:
    """Mean, standard deviation and percentile interval of one metric over the valid resamples."""

    mean: float
    std: float
    ci: tuple[float, float]
    n_valid: int


def resampled_ranking_metrics(y: np.ndarray, p: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """AUROC, AUPRC and min(+P, Se) of each resample.

    Args:
        y: [N] int labels in {0, 1}.
        p: [N] float scores.
        idx: [B, N] int indices, row b is resample b.

    Returns:
        {"auroc", "auprc", "min_p_se"} -> [B] float arrays, NaN for single-class resamples.
    """
    ys = y[idx].astype(np.float64)  # [B, N]
    ps = p[idx]  # [B, N]
    order = np.argsort(-ps, axis=1, kind="stable")  # [B, N] descending scores
    ps = np.take_along_axis(ps, order, axis=1)
    ys = np.take_along_axis(ys, order, axis=1)
    n = ys.shape[1]
    tp = np.cumsum(ys, axis=1)  # [B, N] positives ranked at or above position i
    fp = np.arange(1, n + 1)[None, :] - tp  # [B, N]
    pos = tp[:, -1]  # [B]
    neg = n - pos
    valid = (pos > 0) & (neg > 0)
    # A threshold sits at the last position of each run of tied scores.
    is_end = np.ones_like(ps, dtype=bool)
    is_end[:, :-1] = ps[:, :-1] != ps[:, 1:]
    # [B, N] index of the end of the tie group each position belongs to.
    end_idx = np.where(is_end, np.arange(n)[None, :], n)
    end_idx = np.minimum.accumulate(end_idx[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / (tp + fp)  # [B, N]
        recall = tp / pos[:, None]
        # AUPRC (average precision): each positive contributes the precision at the end of its group / P.
        prec_at_end = np.take_along_axis(precision, end_idx, axis=1)
        auprc = (ys * prec_at_end).sum(axis=1) / pos
        # min(+P, Se): best min(precision, recall) over thresholds (group ends only).
        both = np.where(is_end, np.minimum(precision, recall), -np.inf)
        min_p_se = both.max(axis=1)
    # AUROC by the Mann-Whitney statistic with average ranks for ties: a tie group spanning
    # descending positions [s, e] has ascending rank n - (s + e) / 2 (1-based).
    is_start = np.ones_like(ps, dtype=bool)
    is_start[:, 1:] = is_end[:, :-1]
    start_idx = np.maximum.accumulate(np.where(is_start, np.arange(n)[None, :], 0), axis=1)  # [B, N]
    avg_rank = n - (start_idx + end_idx) / 2.0  # [B, N]
    with np.errstate(invalid="ignore", divide="ignore"):
        auroc = ((ys * avg_rank).sum(axis=1) - pos * (pos + 1) / 2.0) / (pos * neg)
    out = {"auroc": auroc, "auprc": auprc, "min_p_se": min_p_se}
    return {k: np.where(valid, v, np.nan) for k, v in out.items()}


def summarize(values: np.ndarray, alpha: float = 0.05) -> BootstrapSummary:
    """Mean, std (ddof=0) and the (alpha/2, 1-alpha/2) percentile interval of the finite values."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        nan = float("nan")
        return BootstrapSummary(mean=nan, std=nan, ci=(nan, nan), n_valid=0)
    lo, hi = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return BootstrapSummary(
        mean=float(finite.mean()),
        std=float(finite.std()),
        ci=(float(lo), float(hi)),
        n_valid=int(finite.size),
    )


def bootstrap_ci(
    y_true,
    y_prob,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    chunk: int = 200,
    name: str = "predictions",
) -> dict[str, BootstrapSummary]:
    """Bootstrap the test set `n_resamples` times (with replacement, seeded) and summarise each metric.

    Resamples are scored `chunk` at a time to bound memory at about chunk * N * 8 bytes per array.
    """
    if n_resamples < 1:
        raise UserInputError(f"n_resamples must be >= 1, got {n_resamples}; the default is 1000.")
    if not 0.0 < alpha < 1.0:
        raise UserInputError(f"alpha must be in (0, 1), got {alpha}; 0.05 gives a 95 % interval.")
    y, p = check_binary_inputs(y_true, y_prob, name)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"auroc": [], "auprc": [], "min_p_se": []}
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        idx = rng.integers(0, y.size, size=(b, y.size))  # [b, N]
        for key, values in resampled_ranking_metrics(y, p, idx).items():
            parts[key].append(values)
    values = {k: np.concatenate(v) for k, v in parts.items()}
    dropped = int(np.isnan(values["auroc"]).sum())
    if dropped:
        warnings.warn(
            f"{name}: {dropped} of {n_resamples} bootstrap resamples hold a single class and were dropped; "
            f"the test set has only {int(y.sum())} positive(s) of {y.size}.",
            RuntimeWarning,
            stacklevel=2,
        )
    return {k: summarize(v, alpha) for k, v in values.items()}
