"""Point metrics for binary outcome prediction: AUROC, AUPRC, min(+P, Se) and the Brier score.

Pure functions of `(y_true, y_prob)` numpy arrays. They delegate to scikit-learn and share one input
check (`check_binary_inputs`), so every metric treats bad input the same way:

- NaN / inf scores, labels other than 0/1, mismatched lengths or empty input raise
  `foundation.errors.UserInputError` (numbers computed from such input would be wrong, not just noisy);
- a label vector with a single class (no positive or no negative stay) makes the ranking metrics
  undefined: they return NaN and emit a `UndefinedMetricWarning`-style `RuntimeWarning` naming the
  class that is missing. The Brier score stays defined.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve, roc_auc_score

from foundation.errors import UserInputError

__all__ = ["check_binary_inputs", "auroc", "auprc", "min_p_se", "brier", "has_both_classes"]


def check_binary_inputs(y_true, y_prob, name: str = "predictions") -> tuple[np.ndarray, np.ndarray]:
    """Return `(y_true int64 [N], y_prob float64 [N])` or raise `UserInputError` naming the problem."""
    y = np.asarray(y_true).reshape(-1)
    p = np.asarray(y_prob, dtype=np.float64).reshape(-1)
    if y.shape != p.shape:
        raise UserInputError(f"{name}: {y.size} labels but {p.size} scores; pass one score per label.")
    if y.size == 0:
        raise UserInputError(f"{name}: no labels to score; is the test split empty?")
    bad = ~np.isfinite(p)
    if bad.any():
        raise UserInputError(
            f"{name}: {int(bad.sum())} of {p.size} scores are NaN or inf "
            f"(first at index {int(np.argmax(bad))}); "
            "the model diverged or its inputs hold NaN. Check the inputs and lower the learning rate."
        )
    y_float = y.astype(np.float64)
    if not np.isin(y_float, (0.0, 1.0)).all():
        odd = np.unique(y_float[~np.isin(y_float, (0.0, 1.0))])[:5]
        raise UserInputError(
            f"{name}: labels must be 0 or 1, found {odd.tolist()}; "
            "drop stays with unknown labels (NaN) first."
        )
    return y_float.astype(np.int64), p


def has_both_classes(y: np.ndarray, name: str, metric: str) -> bool:
    """True if `y` holds both 0 and 1; otherwise warn that `metric` is NaN and say why."""
    positives = int(y.sum())
    if 0 < positives < y.size:
        return True
    missing = "positive" if positives == 0 else "negative"
    warnings.warn(
        f"{name}: {metric} is undefined (NaN) because the labels hold no {missing} stay "
        f"(n={y.size}); evaluate on a split that holds both classes.",
        RuntimeWarning,
        stacklevel=3,
    )
    return False


def auroc(y_true, y_prob, name: str = "predictions") -> float:
    """Area under the ROC curve (ties count one half); NaN with a warning for single-class labels."""
    y, p = check_binary_inputs(y_true, y_prob, name)
    if not has_both_classes(y, name, "AUROC"):
        return float("nan")
    return float(roc_auc_score(y, p))


def auprc(y_true, y_prob, name: str = "predictions") -> float:
    """Area under the precision-recall curve as average precision (step-wise, no interpolation),
    the estimator scikit-learn and torchmetrics use: sum over thresholds of (R_k - R_{k-1}) P_k."""
    y, p = check_binary_inputs(y_true, y_prob, name)
    if not has_both_classes(y, name, "AUPRC"):
        return float("nan")
    return float(average_precision_score(y, p))


def min_p_se(y_true, y_prob, name: str = "predictions") -> float:
    """min(+P, Se): the maximum over the precision-recall curve's thresholds of min(precision, recall).

    This is the metric of the MIMIC-III benchmark and EMERGE; it equals precision (= recall) at the
    threshold where the two cross, when such a threshold exists.
    """
    y, p = check_binary_inputs(y_true, y_prob, name)
    if not has_both_classes(y, name, "min(+P, Se)"):
        return float("nan")
    precision, recall, _ = precision_recall_curve(y, p)
    return float(np.max(np.minimum(precision, recall)))


def brier(y_true, y_prob, name: str = "predictions") -> float:
    """Brier score: mean squared difference between the predicted probability and the label.

    Scores must be probabilities in [0, 1]; defined for single-class labels too.
    """
    y, p = check_binary_inputs(y_true, y_prob, name)
    if p.min() < 0.0 or p.max() > 1.0:
        raise UserInputError(
            f"{name}: Brier score needs probabilities in [0, 1], found range [{p.min():.3g}, {p.max():.3g}]; "
            "apply a sigmoid to logits first."
        )
    return float(brier_score_loss(y, p, pos_label=1))
