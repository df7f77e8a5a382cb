"""The evaluation report of a run: metrics.json, a markdown table comparing models, and PNG plots.

metrics.json has the shape
    {"tasks": {"mortality": {"models": {"<model>": {"auroc": x, "auprc": x, "min_p_se": x,
     "auroc_ci": [lo, hi], "auprc_ci": [lo, hi], "min_p_se_ci": [lo, hi], "brier": x, "ece": x,
     "n": N, "positives": P, ...}}}, "readmission": {...}}}
(see `emerge.metrics.evaluate` for every key). NaN (an undefined metric) is written as `null`.

`write_report(out_dir, predictions)` takes `{task: {model: (y_true, y_prob)}}` and writes
    out_dir/metrics.json, out_dir/metrics.md,
    out_dir/plots/<task>_roc.png, <task>_pr.png, <task>_calibration.png.
Runs trained separately (one model each) can be combined with `merge_metrics`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from emerge.metrics.evaluate import evaluate_predictions
from emerge.metrics.plots import plot_calibration, plot_pr, plot_roc
from foundation.artifacts import atomic_write_text
from foundation.errors import UserInputError

__all__ = [
    "build_metrics",
    "merge_metrics",
    "markdown_table",
    "save_metrics_json",
    "load_metrics_json",
    "write_report",
]

Predictions = Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]]  # task -> model -> (y, p)


def build_metrics(predictions: Predictions, n_bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Evaluate every (task, model) pair; the bootstrap of each pair uses the same `seed`."""
    tasks: dict[str, Any] = {}
    for task, models in predictions.items():
        tasks[task] = {
            "models": {
                model: evaluate_predictions(y, p, n_bootstrap=n_bootstrap, seed=seed, name=f"{task}/{model}")
                for model, (y, p) in models.items()
            }
        }
    return {"tasks": tasks}


def merge_metrics(*reports: Mapping[str, Any]) -> dict[str, Any]:
    """Combine metrics dicts of separate runs; a (task, model) pair present twice is an error."""
    merged: dict[str, Any] = {"tasks": {}}
    for report in reports:
        for task, body in report.get("tasks", {}).items():
            models = merged["tasks"].setdefault(task, {"models": {}})["models"]
            for model, values in body["models"].items():
                if model in models:
                    raise UserInputError(
                        f"model {model!r} appears twice for task {task!r} while merging metrics; "
                        "give each run a distinct model name."
                    )
                models[model] = values
    return merged


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, Mapping):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(v) for v in obj]
    return obj


def save_metrics_json(metrics: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write `metrics` as strict JSON (NaN -> null), atomically."""
    path = Path(path)
    atomic_write_text(path, json.dumps(_nan_to_none(metrics), indent=2, allow_nan=False) + "\n")
    return path


def load_metrics_json(path: str | os.PathLike) -> dict[str, Any]:
    """Read a metrics.json written by `save_metrics_json` (null stays None)."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path} not found; run the evaluation first.")
    body = json.loads(path.read_text(encoding="utf-8"))
    if "tasks" not in body:
        raise UserInputError(f"{path} has no 'tasks' key; it is not a metrics.json written by emerge.")
    return body


def _fmt(value: Any, scale: float = 100.0, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value * scale:.{digits}f}"


def _with_ci(values: Mapping[str, Any], key: str) -> str:
    ci = values.get(f"{key}_ci") or [None, None]
    point = _fmt(values.get(key))
    if ci[0] is None or ci[1] is None or any(isinstance(c, float) and math.isnan(c) for c in ci):
        return point
    return f"{point} ({_fmt(ci[0])}-{_fmt(ci[1])})"


def markdown_table(metrics: Mapping[str, Any]) -> str:
    """One markdown table per task: a row per model, ranking metrics x100 with 95 % bootstrap CIs."""
    lines: list[str] = []
    for task, body in metrics["tasks"].items():
        lines += [
            f"### {task}",
            "",
            "| model | AUROC | AUPRC | min(+P,Se) | Brier | ECE | n | positives |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for model, v in body["models"].items():
            lines.append(
                f"| {model} | {_with_ci(v, 'auroc')} | {_with_ci(v, 'auprc')} | {_with_ci(v, 'min_p_se')} | "
                f"{_fmt(v.get('brier'), 1.0, 4)} | {_fmt(v.get('ece'), 1.0, 4)} | "
                f"{v.get('n')} | {v.get('positives')} |"
            )
        lines.append("")
    lines.append("Ranking metrics x100 on the test split, 95 % bootstrap percentile interval in brackets.")
    return "\n".join(lines) + "\n"


def write_report(
    out_dir: str | os.PathLike,
    predictions: Predictions,
    n_bootstrap: int = 1000,
    seed: int = 0,
    plots: bool = True,
) -> dict[str, Any]:
    """Evaluate `predictions` and write metrics.json, metrics.md and (optionally) the plots."""
    out_dir = Path(out_dir)
    metrics = build_metrics(predictions, n_bootstrap=n_bootstrap, seed=seed)
    save_metrics_json(metrics, out_dir / "metrics.json")
    atomic_write_text(out_dir / "metrics.md", markdown_table(metrics))
    if plots:
        for task, models in predictions.items():
            plot_roc(models, out_dir / "plots" / f"{task}_roc.png", title=f"{task}: ROC")
            plot_pr(models, out_dir / "plots" / f"{task}_pr.png", title=f"{task}: precision-recall")
            plot_calibration(
                models, out_dir / "plots" / f"{task}_calibration.png", title=f"{task}: calibration"
            )
    return metrics
