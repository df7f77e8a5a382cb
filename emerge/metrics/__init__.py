"""Evaluation metrics for outcome prediction: AUROC, AUPRC, min(+P, Se), bootstrap CIs, calibration,
paired model comparisons (DeLong, paired bootstrap), mean +- std over seeds, subgroup metrics, and the
run report (metrics.json, markdown table, plots). Pure functions of numpy arrays."""

from emerge.metrics.bootstrap import BootstrapSummary, bootstrap_ci, resampled_ranking_metrics
from emerge.metrics.calibration import ReliabilityBins, expected_calibration_error, reliability_bins
from emerge.metrics.classification import auprc, auroc, brier, check_binary_inputs, min_p_se
from emerge.metrics.evaluate import RANKING_METRICS, evaluate_predictions
from emerge.metrics.paired import (
    PAIRED_METRICS,
    PairedResult,
    delong_covariance,
    delong_test,
    paired_bootstrap,
)
from emerge.metrics.plots import forest_plot
from emerge.metrics.report import (
    build_metrics,
    load_metrics_json,
    markdown_table,
    merge_metrics,
    save_metrics_json,
    write_report,
)
from emerge.metrics.seeds import SEED_METRICS, format_mean_std, summarize_seeds
from emerge.metrics.subgroups import AGE_BANDS, TOO_SMALL, age_bands, subgroup_metrics

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
    "PairedResult",
    "PAIRED_METRICS",
    "delong_test",
    "delong_covariance",
    "paired_bootstrap",
    "SEED_METRICS",
    "summarize_seeds",
    "format_mean_std",
    "AGE_BANDS",
    "TOO_SMALL",
    "age_bands",
    "subgroup_metrics",
    "forest_plot",
]
