"""Evaluation metrics for outcome prediction: AUROC, AUPRC, min(+P, Se), bootstrap CIs, calibration,
and the run report (metrics.json, markdown table, plots). Pure functions of numpy arrays."""

from emerge.metrics.bootstrap import BootstrapSummary, bootstrap_ci, resampled_ranking_metrics
from emerge.metrics.calibration import ReliabilityBins, expected_calibration_error, reliability_bins
from emerge.metrics.classification import auprc, auroc, brier, check_binary_inputs, min_p_se
from emerge.metrics.evaluate import RANKING_METRICS, evaluate_predictions
from emerge.metrics.report import (
    build_metrics,
    load_metrics_json,
    markdown_table,
    merge_metrics,
    save_metrics_json,
    write_report,
)

__all__ = [
    "auroc",
    "auprc",
    "min_p_se",
    "brier",
    "check_binary_inputs",
    "reliability_bins",
    "ReliabilityBins",
    "expected_calibration_error",
    "bootstrap_ci",
    "BootstrapSummary",
    "resampled_ranking_metrics",
    "evaluate_predictions",
    "RANKING_METRICS",
    "build_metrics",
    "merge_metrics",
    "markdown_table",
    "save_metrics_json",
    "load_metrics_json",
    "write_report",
]
