"""ROC, precision-recall and calibration plots as PNG, one figure per task with one line per model.

matplotlib is used through its non-interactive Agg backend (no display needed); figures are
closed after saving so long runs do not leak memory. Files are written through a temporary name
and a rename, so a killed run never leaves a half-written PNG.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["plot_roc", "plot_pr", "plot_calibration"]

Curves = Mapping[str, tuple[np.ndarray, np.ndarray]]  # model name -> (y_true [N], y_prob [N])


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    return plt, fig, ax


def _save(plt, fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _labeled(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    keep = ~np.isnan(y)
    return y[keep].astype(np.int64), p[keep]


def plot_roc(curves: Curves, path: str | os.PathLike, title: str = "ROC") -> Path:
    """One ROC curve per model, with AUROC in the legend; single-class models are skipped."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt, fig, ax = _figure()
    for model, (y, p) in curves.items():
        y, p = _labeled(y, p)
        if y.min() == y.max():
            continue
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{model} ({roc_auc_score(y, p):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=7)
    return _save(plt, fig, Path(path))


def plot_pr(curves: Curves, path: str | os.PathLike, title: str = "Precision-recall") -> Path:
    """One precision-recall curve per model, with AUPRC in the legend and the prevalence as a line."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt, fig, ax = _figure()
    prevalence = None
    for model, (y, p) in curves.items():
        y, p = _labeled(y, p)
        if y.min() == y.max():
            continue
        precision, recall, _ = precision_recall_curve(y, p)
        ax.step(recall, precision, where="post", label=f"{model} ({average_precision_score(y, p):.3f})")
        prevalence = y.mean()
    if prevalence is not None:
        ax.axhline(prevalence, ls="--", c="grey", lw=0.8)
    ax.set(xlabel="recall (sensitivity)", ylabel="precision (+P)", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="upper right", fontsize=7)
    return _save(plt, fig, Path(path))


def plot_calibration(
    curves: Curves, path: str | os.PathLike, n_bins: int = 10, title: str = "Calibration"
) -> Path:
    """Reliability diagram: observed positive rate against mean predicted probability per bin."""
    from emerge.metrics.calibration import expected_calibration_error, reliability_bins

    plt, fig, ax = _figure()
    for model, (y, p) in curves.items():
        y, p = _labeled(y, p)
        bins = reliability_bins(y, p, n_bins=n_bins, name=model)
        keep = bins.count > 0
        ece = expected_calibration_error(y, p, n_bins=n_bins, name=model)
        ax.plot(
            bins.mean_predicted[keep],
            bins.fraction_positive[keep],
            marker="o",
            ms=3,
            label=f"{model} (ECE {ece:.3f})",
        )
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.set(
        xlabel="mean predicted probability",
        ylabel="observed fraction positive",
        title=title,
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="upper left", fontsize=7)
    return _save(plt, fig, Path(path))
