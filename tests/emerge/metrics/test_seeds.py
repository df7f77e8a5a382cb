"""Mean +- std over training seeds, on hand-computed values."""

from __future__ import annotations

import math
import statistics

import pytest

from emerge.metrics import format_mean_std, summarize_seeds
from foundation.errors import UserInputError


def _runs():
    return [
        {"seed": 0, "auroc": 0.80, "auprc": 0.40, "min_p_se": 0.41, "brier": 0.10, "ece": 0.03, "n": 500},
        {"seed": 1, "auroc": 0.82, "auprc": 0.43, "min_p_se": 0.42, "brier": 0.09, "ece": 0.02, "n": 500},
        {"seed": 2, "auroc": 0.84, "auprc": 0.46, "min_p_se": 0.46, "brier": 0.08, "ece": 0.04, "n": 500},
    ]


def test_mean_and_sample_std_by_hand():
    out = summarize_seeds(_runs())
    assert out["seeds"] == [0, 1, 2] and out["n_seeds"] == 3
    # auroc 0.80, 0.82, 0.84: mean 0.82, deviations -0.02, 0, 0.02: squares sum to 8e-4, / (3 - 1), std 0.02
    assert out["auroc_mean"] == pytest.approx(0.82)
    assert out["auroc_std"] == pytest.approx(0.02)
    # auprc 0.40, 0.43, 0.46: mean 0.43, std 0.03; brier 0.10, 0.09, 0.08: mean 0.09, std 0.01
    assert (out["auprc_mean"], out["auprc_std"]) == pytest.approx((0.43, 0.03))
    assert (out["brier_mean"], out["brier_std"]) == pytest.approx((0.09, 0.01))
    # min_p_se 0.41, 0.42, 0.46 and ece 0.03, 0.02, 0.04 against the standard library
    assert out["min_p_se_std"] == pytest.approx(statistics.stdev([0.41, 0.42, 0.46]))
    assert (out["ece_mean"], out["ece_std"]) == pytest.approx((0.03, 0.01))
    assert out["per_seed"][2] == {
        "seed": 2,
        "auroc": 0.84,
        "auprc": 0.46,
        "min_p_se": 0.46,
        "brier": 0.08,
        "ece": 0.04,
    }
    assert "n_mean" not in out  # only the metrics are summarised


def test_one_seed_has_std_zero():
    out = summarize_seeds(_runs()[:1])
    assert out["auroc_mean"] == 0.80 and out["auroc_std"] == 0.0 and out["n_seeds"] == 1


def test_seed_defaults_to_position_and_absent_metrics_are_skipped():
    out = summarize_seeds([{"auroc": 0.7}, {"auroc": 0.9}])
    assert out["seeds"] == [0, 1] and out["auroc_mean"] == pytest.approx(0.8)
    assert "ece_mean" not in out and "brier_std" not in out


def test_undefined_value_makes_the_summary_nan():
    out = summarize_seeds([{"seed": 1, "auroc": 0.8}, {"seed": 2, "auroc": None}])
    assert math.isnan(out["auroc_mean"]) and math.isnan(out["auroc_std"])
    assert math.isnan(out["per_seed"][1]["auroc"])


@pytest.mark.parametrize(
    "per_seed, match",
    [
        ([], "at least one seed"),
        ([{"seed": 3, "auroc": 0.8}, {"seed": 3, "auroc": 0.7}], "appears twice"),
        ([{"seed": 0, "auroc": 0.8, "ece": 0.1}, {"seed": 1, "auroc": 0.7}], r"missing for seed\(s\) \[1\]"),
        ([{"seed": 0, "auroc": "0.8"}], "expected a number"),
    ],
)
def test_bad_input_is_named(per_seed, match):
    with pytest.raises(UserInputError, match=match):
        summarize_seeds(per_seed)


def test_format_mean_std():
    assert format_mean_std(0.84567, 0.00523) == "84.57 ± 0.52"
    assert format_mean_std(0.8, 0.0) == "80.00 ± 0.00"
    assert format_mean_std(0.0912, 0.00456, scale=1.0, digits=4) == "0.0912 ± 0.0046"
    assert format_mean_std(float("nan"), 0.01) == "n/a" and format_mean_std(None, None) == "n/a"
    assert format_mean_std(0.5, None) == "50.00"
    out = summarize_seeds(_runs())
    assert format_mean_std(out["auroc_mean"], out["auroc_std"]) == "82.00 ± 2.00"
