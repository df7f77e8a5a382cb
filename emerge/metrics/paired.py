"""Paired comparison of two models scored on the same test stays: DeLong's test and a paired bootstrap.

Both answer "is model A better than model B on this test set?" while accounting for the fact that
the two models' metrics are correlated (same stays, same labels). Every difference is A - B.

- `delong_test`: the AUROC difference, its standard error from DeLong's structural components
  (DeLong, DeLong & Clarke-Pearson 1988, Biometrics 44:837-845), computed with midranks in
  O(N log N) (Sun & Xu 2014, IEEE Signal Processing Letters 21:1389-1393); a two-sided normal p-value
  and a Wald interval. Ties count one half, as in `roc_auc_score`. Matches pROC's `roc.test` (tested).
- `paired_bootstrap`: resample the stays with replacement (one resample shared by both models),
  take the metric difference in each resample, and report the percentile interval and the
  bootstrap p-value 2 * min(P(diff <= 0), P(diff >= 0)) with the +1 correction (Davison & Hinkley
  1997, eq. 4.11; North, Curtis & Sham 2002), i.e. the smallest alpha whose percentile interval
  excludes 0, and never exactly 0. Resamples drawing a single class are dropped (ranking metrics)
  and counted in `n_valid`.

Stays whose label is NaN (unknown) are left out, as in `evaluate_predictions`; NaN / inf scores and
labels other than 0/1 raise `UserInputError`.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import norm, rankdata

from emerge.metrics.bootstrap import resampled_ranking_metrics
from emerge.metrics.classification import auprc, auroc, brier, check_binary_inputs, min_p_se
from foundation.errors import UserInputError

__all__ = ["PAIRED_METRICS", "PairedResult", "delong_covariance", "delong_test", "paired_bootstrap"]

logger = logging.getLogger(__name__)

PAIRED_METRICS = ("auroc", "auprc", "min_p_se", "brier")
_POINT = {"auroc": auroc, "auprc": auprc, "min_p_se": min_p_se, "brier": brier}


@dataclass(frozen=True)
class PairedResult:
    """One metric of model A against model B on the same stays.

    Attributes:
        metric: "auroc", "auprc", "min_p_se" or "brier".
        method: "delong" or "bootstrap".
        value_a, value_b: the metric of each model on the whole test set.
        diff: value_a - value_b.
        se: standard error of `diff` (DeLong: analytic; bootstrap: std of the resampled differences).
        ci: (1 - alpha) interval of `diff` (DeLong: diff +- z * se; bootstrap: percentile interval).
        p_value: two-sided p-value of "no difference".
        n, positives: labelled stays compared, and how many are positive.
        n_resamples, n_valid: bootstrap resamples drawn and used (0 for DeLong).
    """

    metric: str
    method: Literal["delong", "bootstrap"]
    value_a: float
    value_b: float
    diff: float
    se: float
    ci: tuple[float, float]
    p_value: float
    n: int
    positives: int
    n_resamples: int = 0
    n_valid: int = 0

    def __post_init__(self) -> None:
        if self.method not in ("delong", "bootstrap"):
            raise UserInputError(f"method must be 'delong' or 'bootstrap', got {self.method!r}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for metrics.json (`ci` as a list)."""
        out = asdict(self)
        out["ci"] = list(self.ci)
        return out


def _paired_inputs(y_true, prob_a, prob_b, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop NaN labels, then check both score vectors; returns (y int [N], p_a [N], p_b [N])."""
    y = np.asarray(y_true, dtype=np.float64).reshape(-1)
    pa = np.asarray(prob_a, dtype=np.float64).reshape(-1)
    pb = np.asarray(prob_b, dtype=np.float64).reshape(-1)
    if not y.shape == pa.shape == pb.shape:
        raise UserInputError(
            f"{name}: {y.size} labels, {pa.size} scores for model A and {pb.size} for model B; "
            "a paired comparison needs one score per stay from each model, in the same order."
        )
    known = ~np.isnan(y)
    if not known.any():
        raise UserInputError(f"{name}: every label is NaN (unknown); nothing to compare.")
    if not known.all():
        logger.info("%s: leaving out %d stays with unknown labels", name, int((~known).sum()))
    y, pa = check_binary_inputs(y[known], pa[known], f"{name} (model A)")
    _, pb = check_binary_inputs(y, pb[known], f"{name} (model B)")
    return y, pa, pb


def delong_covariance(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """AUROC of K models and DeLong's estimate of their [K, K] covariance matrix.

    Args:
        y_true: [N] labels in {0, 1} holding at least 2 positive and 2 negative stays.
        scores: [K, N] (or [N] for one model) scores, higher = more likely positive.

    Returns:
        (auc [K], cov [K, K]) with cov = S10 / m + S01 / n (DeLong et al. 1988, eq. 4), where S10 and
        S01 are the sample covariances (ddof=1) of the structural components
        V10(X_i) = mean_j psi(X_i, Y_j) over the m positives and V01(Y_j) = mean_i psi(X_i, Y_j) over
        the n negatives, psi = 1, 1/2, 0 for X > Y, X = Y, X < Y. The components come from midranks
        (Sun & Xu 2014): V10 = (rank in all - rank among positives) / n, V01 = 1 - (rank in all -
        rank among negatives) / m.
    """
    y, _ = check_binary_inputs(y_true, np.zeros(np.asarray(y_true).size), "delong_covariance")
    s = np.asarray(scores, dtype=np.float64)
    s = s[None, :] if s.ndim == 1 else s  # [K, N]
    if s.ndim != 2 or s.shape[1] != y.size:
        raise UserInputError(f"scores must have shape [K, {y.size}] (one row per model), got {s.shape}.")
    if not np.isfinite(s).all():
        raise UserInputError("scores hold NaN or inf; check the model outputs.")
    pos, neg = s[:, y == 1], s[:, y == 0]  # [K, m], [K, n]
    m, n = pos.shape[1], neg.shape[1]
    if m < 2 or n < 2:
        raise UserInputError(
            f"DeLong's variance needs at least 2 positive and 2 negative stays, got {m} and {n}."
        )
    v10, v01, auc = _structural_components(pos, neg)
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return auc, cov


def _structural_components(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pos [K, m], neg [K, n] -> V10 [K, m], V01 [K, n], AUROC [K] (midranks, ties one half)."""
    m, n = pos.shape[1], neg.shape[1]
    rank_all = rankdata(np.concatenate([pos, neg], axis=1), axis=1)  # [K, m + n] midranks
    v10 = (rank_all[:, :m] - rankdata(pos, axis=1)) / n  # share of negatives below each positive
    v01 = 1.0 - (rank_all[:, m:] - rankdata(neg, axis=1)) / m  # share of positives above each negative
    return v10, v01, v10.mean(axis=1)


def delong_test(y_true, prob_a, prob_b, alpha: float = 0.05, name: str = "predictions") -> PairedResult:
    """DeLong's test of AUROC(A) = AUROC(B) for two models scored on the same stays.

    The standard error of the difference is sqrt(var(V10_A - V10_B) / m + var(V01_A - V01_B) / n),
    which equals L S L' with L = (1, -1) (DeLong et al. 1988, section 2); z = diff / se, two-sided
    p = 2 * (1 - Phi(|z|)), interval diff +- Phi^-1(1 - alpha / 2) * se (not clipped to [-1, 1]).
    A test set with fewer than 2 stays of either class gives NaN for the undefined parts, with a
    warning. When the standard error is 0 (e.g. identical scores), p is 1 for a zero difference.
    """
    if not 0.0 < alpha < 1.0:
        raise UserInputError(f"alpha must be in (0, 1), got {alpha}; 0.05 gives a 95 % interval.")
    y, pa, pb = _paired_inputs(y_true, prob_a, prob_b, name)
    pos_mask = y == 1
    m, n = int(pos_mask.sum()), int((~pos_mask).sum())
    nan = float("nan")
    if m < 2 or n < 2:
        warnings.warn(
            f"{name}: DeLong's test needs at least 2 positive and 2 negative stays, got {m} and {n}; "
            "its standard error and p-value are NaN.",
            RuntimeWarning,
            stacklevel=2,
        )
        a = auroc(y, pa, f"{name} (model A)") if m and n else nan
        b = auroc(y, pb, f"{name} (model B)") if m and n else nan
        return PairedResult("auroc", "delong", a, b, a - b, nan, (nan, nan), nan, y.size, m)
    scores = np.stack([pa, pb])  # [2, N]
    v10, v01, auc = _structural_components(scores[:, pos_mask], scores[:, ~pos_mask])
    diff = float(auc[0] - auc[1])
    # var(diff) from the component differences: the same as L S L' but exactly 0 for identical models.
    var = np.var(v10[0] - v10[1], ddof=1) / m + np.var(v01[0] - v01[1], ddof=1) / n
    se = float(np.sqrt(var))
    if se > 0.0:
        p_value = float(2.0 * norm.sf(abs(diff) / se))
    else:
        p_value = 1.0 if diff == 0.0 else 0.0
        if diff != 0.0:
            warnings.warn(
                f"{name}: DeLong's standard error is 0 with an AUROC difference of {diff:.4g} "
                "(degenerate scores, e.g. one model constant and the other perfect); p is reported as 0.",
                RuntimeWarning,
                stacklevel=2,
            )
    half = float(norm.ppf(1.0 - alpha / 2.0)) * se
    return PairedResult(
        metric="auroc",
        method="delong",
        value_a=float(auc[0]),
        value_b=float(auc[1]),
        diff=diff,
        se=se,
        ci=(diff - half, diff + half),
        p_value=p_value,
        n=int(y.size),
        positives=m,
    )


def paired_bootstrap(
    y_true,
    prob_a,
    prob_b,
    metrics: Sequence[str] = ("auroc", "auprc"),
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    chunk: int = 200,
    name: str = "predictions",
) -> dict[str, PairedResult]:
    """Paired bootstrap of metric(A) - metric(B): the same resampled stays score both models.

    Resamples are drawn exactly as `bootstrap_ci` draws them (same seed, same stream), `chunk` at a
    time, and scored with its vectorised `resampled_ranking_metrics`. Per metric: `diff` is the
    whole-test-set difference, `se` the std (ddof=1) of the resampled differences, `ci` their
    (alpha/2, 1 - alpha/2) percentiles, and
    p = min(1, 2 * min(1 + #{d <= 0}, 1 + #{d >= 0}) / (1 + n_valid)).
    Identical models give diff 0 and p 1. Brier resamples are never dropped.
    """
    metrics = (metrics,) if isinstance(metrics, str) else tuple(dict.fromkeys(metrics))
    unknown = [k for k in metrics if k not in PAIRED_METRICS]
    if unknown or not metrics:
        raise UserInputError(f"metrics {list(unknown)} not supported; choose from {PAIRED_METRICS}.")
    if n_resamples < 1:
        raise UserInputError(f"n_resamples must be >= 1, got {n_resamples}; the default is 1000.")
    if chunk < 1:
        raise UserInputError(f"chunk must be >= 1, got {chunk}.")
    if not 0.0 < alpha < 1.0:
        raise UserInputError(f"alpha must be in (0, 1), got {alpha}; 0.05 gives a 95 % interval.")
    y, pa, pb = _paired_inputs(y_true, prob_a, prob_b, name)
    points = {
        k: (_POINT[k](y, pa, f"{name} (model A)"), _POINT[k](y, pb, f"{name} (model B)")) for k in metrics
    }
    ranking = [k for k in metrics if k != "brier"]
    sq_a, sq_b = (pa - y) ** 2, (pb - y) ** 2  # [N] per-stay Brier terms
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in metrics}
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        idx = rng.integers(0, y.size, size=(b, y.size))  # [b, N], shared by both models
        if ranking:
            ra, rb = resampled_ranking_metrics(y, pa, idx), resampled_ranking_metrics(y, pb, idx)
            for k in ranking:
                parts[k].append(ra[k] - rb[k])  # [b], NaN for single-class resamples
        if "brier" in metrics:
            parts["brier"].append(sq_a[idx].mean(axis=1) - sq_b[idx].mean(axis=1))
    diffs = {k: np.concatenate(v) for k, v in parts.items()}
    if ranking:
        dropped = int(np.isnan(diffs[ranking[0]]).sum())
        if dropped:
            warnings.warn(
                f"{name}: {dropped} of {n_resamples} paired bootstrap resamples hold a single class and were "
                f"dropped; the test set has only {int(y.sum())} positive(s) of {y.size}.",
                RuntimeWarning,
                stacklevel=2,
            )
    out = {}
    for k in metrics:
        a, b = points[k]
        out[k] = _summarize_diffs(k, a, b, diffs[k], alpha, n=y.size, positives=int(y.sum()))
    return out


def _summarize_diffs(
    metric: str, a: float, b: float, d: np.ndarray, alpha: float, n: int, positives: int
) -> PairedResult:
    """Percentile interval, std and +1-corrected two-sided p-value of the finite resampled differences."""
    finite = d[np.isfinite(d)]
    k = finite.size
    nan = float("nan")
    if k == 0:
        return PairedResult(metric, "bootstrap", a, b, a - b, nan, (nan, nan), nan, n, positives, d.size, 0)
    lo, hi = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    below = (1 + int((finite <= 0).sum())) / (1 + k)
    above = (1 + int((finite >= 0).sum())) / (1 + k)
    return PairedResult(
        metric=metric,
        method="bootstrap",
        value_a=float(a),
        value_b=float(b),
        diff=float(a - b),
        se=float(finite.std(ddof=1)) if k > 1 else nan,
        ci=(float(lo), float(hi)),
        p_value=min(1.0, 2.0 * min(below, above)),
        n=int(n),
        positives=int(positives),
        n_resamples=int(d.size),
        n_valid=int(k),
    )
