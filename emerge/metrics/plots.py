"""ROC, precision-recall and calibration plots as PNG, one figure per task with one line per model, and a
forest plot comparing models' AUROC and AUPRC with their intervals.

matplotlib is used through its non-interactive Agg backend (no display needed); figures are
closed after saving so long runs do not leak memory. Files are written through a temporary name
and a rename, so a killed run never leaves a half-written PNG.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from foundation.errors import UserInputError

__all__ = ["plot_roc", "plot_pr", "plot_calibration", "forest_plot"]

Curves = Mapping[str, tuple[np.ndarray, np.ndarray]]  # model name -> (y_true [N], y_prob [N])


def _figure(ncols: int = 1, figsize: tuple[float, float] = (5, 5)):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, ncols, figsize=figsize, dpi=100)
    return plt, fig, ax


def _save(plt, fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    try:
        fig.tight_layout()
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
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


FOREST_METRICS = (("auroc", "AUROC"), ("auprc", "AUPRC"))


def _number(value: Any) -> float:
    """A metric value from a metrics dict as float; None (undefined, `null` in metrics.json) -> NaN."""
    return float("nan") if value is None else float(value)


def _interval(ci: Any) -> tuple[float, float] | None:
    """[lo, hi] from a metrics dict as floats, or None when absent or undefined."""
    if ci is None:
        return None
    lo, hi = _number(ci[0]), _number(ci[1])
    return None if math.isnan(lo) or math.isnan(hi) else (lo, hi)


def forest_plot(
    rows: Sequence[Mapping[str, Any]],
    path: str | os.PathLike,
    title: str = "Model comparison",
    reference: str | None = None,
) -> Path:
    """Forest plot: one row per model, AUROC and AUPRC (x100) side by side, each with its interval.

    Args:
        rows: one dict per model, top to bottom: {"model": name, "auroc": x, "auprc": x, and optionally
            "auroc_ci": [lo, hi], "auprc_ci": [lo, hi]} (a model's entry of metrics.json plus its name;
            for seeds, pass the mean as the value and e.g. mean -+ std as the interval). An undefined
            value (None / NaN) leaves the row empty; a missing interval draws the point alone.
        path: the PNG to write (through a temporary file and a rename).
        title: figure title.
        reference: the model whose values are drawn as dashed vertical lines, in red and marked "(ref)"
            (default: the first row).

    The figure is 900 px wide and 100 * (1.6 + 0.35 * len(rows)) px high.
    """
    if not rows:
        raise UserInputError("forest_plot needs at least one row (one model); got none.")
    for i, row in enumerate(rows):
        missing = [k for k in ("model", "auroc", "auprc") if k not in row]
        if missing:
            raise UserInputError(
                f"forest_plot row {i} lacks {missing}; each row needs 'model', 'auroc' and 'auprc' "
                "(and optionally 'auroc_ci', 'auprc_ci')."
            )
    names = [str(row["model"]) for row in rows]
    if len(set(names)) < len(names):
        twice = sorted({m for m in names if names.count(m) > 1})
        raise UserInputError(
            f"forest_plot rows name the model(s) {twice} more than once; give each row a unique name."
        )
    if reference is None:
        reference = names[0]
    if reference not in names:
        raise UserInputError(f"reference model {reference!r} is not among the rows {names}.")
    ref_row = rows[names.index(reference)]
    n = len(rows)
    ypos = np.arange(n)[::-1]  # [n] first row at the top
    plt, fig, axes = _figure(ncols=2, figsize=(9, 1.6 + 0.35 * n))
    for ax, (key, label) in zip(axes, FOREST_METRICS, strict=True):
        for y_i, row, model in zip(ypos, rows, names, strict=True):
            value = _number(row[key]) * 100
            if math.isnan(value):
                continue
            color = "tab:red" if model == reference else "tab:blue"
            ci = _interval(row.get(f"{key}_ci"))
            if ci is not None:
                lo, hi = ci[0] * 100, ci[1] * 100
                ax.errorbar(
                    value,
                    y_i,
                    xerr=[[max(value - lo, 0.0)], [max(hi - value, 0.0)]],
                    fmt="o",
                    color=color,
                    ms=4,
                    capsize=3,
                    lw=1,
                )
            else:
                ax.plot(value, y_i, "o", color=color, ms=4)
        ref_value = _number(ref_row[key]) * 100
        if not math.isnan(ref_value):
            ax.axvline(ref_value, ls="--", c="grey", lw=0.8)
        ax.set(xlabel=f"{label} (x100)", ylim=(-0.7, n - 0.3))
        ax.grid(axis="x", lw=0.3, alpha=0.5)
    axes[0].set_yticks(ypos, [f"{m} (ref)" if m == reference else m for m in names], fontsize=8)
    axes[1].set_yticks(ypos, [""] * n)
    fig.suptitle(title, fontsize=10)
    return _save(plt, fig, Path(path))
