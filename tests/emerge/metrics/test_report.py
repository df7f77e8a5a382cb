"""metrics.json shape, markdown table and plots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emerge.metrics import (
    evaluate_predictions,
    load_metrics_json,
    markdown_table,
    merge_metrics,
    write_report,
)
from foundation.errors import UserInputError


def _preds(seed, signal):
    rng = np.random.default_rng(seed)
    y = (rng.random(80) < 0.25).astype(float)
    p = np.clip(0.2 + signal * y + 0.3 * rng.random(80), 0, 1)
    return y, p


def test_write_report_files_and_shape(tmp_path):
    preds = {
        "mortality": {"emerge_full": _preds(0, 0.5), "ts_only": _preds(1, 0.1)},
        "readmission": {"emerge_full": _preds(2, 0.3)},
    }
    metrics = write_report(tmp_path, preds, n_bootstrap=50, seed=0)
    on_disk = load_metrics_json(tmp_path / "metrics.json")
    assert on_disk == json.loads(json.dumps(metrics))
    m = on_disk["tasks"]["mortality"]["models"]["emerge_full"]
    for key in (
        "auroc",
        "auprc",
        "min_p_se",
        "auroc_ci",
        "auprc_ci",
        "min_p_se_ci",
        "brier",
        "ece",
        "n",
        "positives",
    ):
        assert key in m
    assert m["n"] == 80 and m["positives"] == int(preds["mortality"]["emerge_full"][0].sum())
    # The strong-signal model ranks better than the weak one.
    assert m["auroc"] > on_disk["tasks"]["mortality"]["models"]["ts_only"]["auroc"]
    table = (tmp_path / "metrics.md").read_text()
    assert "| emerge_full |" in table and "### readmission" in table
    for task in ("mortality", "readmission"):
        for kind in ("roc", "pr", "calibration"):
            png = tmp_path / "plots" / f"{task}_{kind}.png"
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_single_class_test_set_is_null_in_json(tmp_path):
    y = np.zeros(10)
    p = np.linspace(0, 1, 10)
    with pytest.warns(RuntimeWarning):
        write_report(tmp_path, {"mortality": {"m": (y, p)}}, n_bootstrap=10, plots=False)
    body = json.loads((tmp_path / "metrics.json").read_text())  # strict JSON: no NaN literal
    assert body["tasks"]["mortality"]["models"]["m"]["auroc"] is None
    assert "n/a" in (tmp_path / "metrics.md").read_text()


def test_unknown_labels_are_left_out():
    y = np.array([0, 1, np.nan, 1, 0])
    p = np.array([0.1, 0.9, 0.5, 0.8, 0.2])
    out = evaluate_predictions(y, p, n_bootstrap=10)
    assert out["n"] == 4 and out["n_unlabeled"] == 1 and out["auroc"] == 1.0


def test_merge_refuses_duplicates_and_table_formats_ci():
    a = {"tasks": {"mortality": {"models": {"x": {"auroc": 0.5, "auroc_ci": [0.4, 0.6]}}}}}
    b = {"tasks": {"mortality": {"models": {"y": {"auroc": 0.7}}}}}
    merged = merge_metrics(a, b)
    assert set(merged["tasks"]["mortality"]["models"]) == {"x", "y"}
    assert "50.00 (40.00-60.00)" in markdown_table(merged)
    with pytest.raises(UserInputError, match="appears twice"):
        merge_metrics(a, a)
