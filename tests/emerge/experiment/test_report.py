"""The experiment report over seeds: hand-worked seed ensembles, differences and the table."""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from emerge.experiment.report import experiment_report, experiment_table, write_experiment_report
from emerge.metrics.paired import delong_test

STAYS = np.array([11, 12, 13, 14])
Y = np.array([0, 0, 1, 1])


def _run(seed: int, probs, y=Y, stays=STAYS):
    probs = np.asarray(probs, dtype=np.float64)
    metrics = {
        "auroc": roc_auc_score(y, probs),
        "auprc": average_precision_score(y, probs),
        "n": int(y.size),
        "positives": int(y.sum()),
    }
    return seed, metrics, {"stay_id": stays, "y_true": y, "y_prob": probs}


def _cohort(stays=STAYS, sex=None, age=None):
    n = len(stays)
    return pl.DataFrame(
        {
            "stay_id": list(map(int, stays)),
            "sex": sex if sex is not None else ["F", "M"] * (n // 2) + ["F"] * (n % 2),
            "age": age if age is not None else [70.0] * n,
        }
    )


def test_hand_worked_seed_ensemble_and_difference(tmp_path):
    # model: seeds (0.1, 0.4, 0.35, 0.8) and (0.3, 0.2, 0.5, 0.6) -> ensemble (0.2, 0.3, 0.425, 0.7):
    # both positives above both negatives, AUROC 1. Seed AUROCs: 0.75 and 1.0.
    # reference: one seed per training seed, ensemble (0.5, 0.2, 0.3, 0.9): 3 of 4 pairs, AUROC 0.75.
    runs = {
        "mortality": {
            "ts_only": [_run(1, [0.5, 0.2, 0.3, 0.9]), _run(2, [0.5, 0.2, 0.3, 0.9])],
            "fusion": [_run(1, [0.1, 0.4, 0.35, 0.8]), _run(2, [0.3, 0.2, 0.5, 0.6])],
        }
    }
    metrics = experiment_report(runs, _cohort(), tmp_path, reference="ts_only", n_bootstrap=200)
    fusion = metrics["tasks"]["mortality"]["models"]["fusion"]
    assert fusion["seeds"] == [1, 2]
    assert fusion["auroc_mean"] == pytest.approx(0.875)
    assert fusion["auroc_std"] == pytest.approx(0.25 / math.sqrt(2))  # sample std of (0.75, 1.0)
    vs = fusion["vs_reference"]
    assert vs["auroc"]["diff"] == pytest.approx(1.0 - 0.75)  # ensemble against ensemble
    assert vs["per_seed"]["auroc_diff_mean"] == pytest.approx(((0.75 - 0.75) + (1.0 - 0.75)) / 2)
    assert vs["per_seed"]["auroc_diff_std"] == pytest.approx(0.25 / math.sqrt(2))
    expected = delong_test(Y, [0.2, 0.3, 0.425, 0.7], [0.5, 0.2, 0.3, 0.9]).to_dict()
    assert json.dumps(vs["delong_auroc"], sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert vs["delong_auroc"]["diff"] == pytest.approx(0.25)
    assert "vs_reference" not in metrics["tasks"]["mortality"]["models"]["ts_only"]
    assert metrics["tasks"]["mortality"]["reference"] == "ts_only"
    # four stays: every subgroup is below the minimum and says so
    assert fusion["subgroups"]["sex"]["F"]["auroc"] == "n too small"
    assert fusion["subgroups"]["sex"]["F"]["n"] == 2
    assert (tmp_path / "forest_mortality.png").stat().st_size > 0


def test_ensemble_difference_matches_sklearn_on_random_predictions(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    stays = np.arange(1000, 1000 + n)
    y = (rng.random(n) < 0.3).astype(int)
    seeds = (5, 6, 7)
    model = {s: np.clip(0.3 * y + rng.random(n) * 0.8, 0, 1) for s in seeds}
    ref = {s: np.clip(0.1 * y + rng.random(n) * 0.9, 0, 1) for s in seeds}
    runs = {
        "readmission": {
            "ts_only": [_run(s, ref[s], y, stays) for s in seeds],
            "emerge_full": [_run(s, model[s], y, stays) for s in seeds],
        }
    }
    ages = list(rng.uniform(20, 95, n))
    sex = list(rng.choice(["F", "M"], n))
    metrics = experiment_report(runs, _cohort(stays, sex, ages), tmp_path, n_bootstrap=100)
    entry = metrics["tasks"]["readmission"]["models"]["emerge_full"]
    ens_model = np.mean([model[s] for s in seeds], axis=0)
    ens_ref = np.mean([ref[s] for s in seeds], axis=0)
    vs = entry["vs_reference"]
    assert vs["auroc"]["diff"] == pytest.approx(roc_auc_score(y, ens_model) - roc_auc_score(y, ens_ref))
    assert vs["auprc"]["diff"] == pytest.approx(
        average_precision_score(y, ens_model) - average_precision_score(y, ens_ref)
    )
    lo, hi = vs["auroc"]["ci"]
    assert lo <= vs["auroc"]["diff"] <= hi
    assert entry["auprc_mean"] == pytest.approx(
        np.mean([average_precision_score(y, model[s]) for s in seeds])
    )
    # subgroups of the seed ensemble: every sex group is large enough and matches sklearn on its stays
    female = np.array(sex) == "F"
    assert entry["subgroups"]["sex"]["F"]["auroc"] == pytest.approx(
        roc_auc_score(y[female], ens_model[female])
    )
    assert sum(g["n"] for g in entry["subgroups"]["age"].values()) == n


def test_seeds_that_scored_different_stays_are_refused(tmp_path):
    other = np.array([11, 12, 13, 99])
    runs = {
        "mortality": {"ts_only": [_run(1, [0.1, 0.2, 0.3, 0.4]), _run(2, [0.1, 0.2, 0.3, 0.4], stays=other)]}
    }
    with pytest.raises(RuntimeError, match="different test stays"):
        experiment_report(runs, _cohort(np.array([11, 12, 13, 14, 99])), tmp_path)


def test_without_the_reference_no_comparison_is_made(tmp_path):
    runs = {"mortality": {"fusion": [_run(1, [0.1, 0.4, 0.35, 0.8])]}}
    metrics = experiment_report(runs, _cohort(), tmp_path, reference="ts_only")
    assert metrics["tasks"]["mortality"]["reference"] is None
    assert "vs_reference" not in metrics["tasks"]["mortality"]["models"]["fusion"]
    table = experiment_table(metrics)
    assert "against" not in table and "mean ± std over 1 seed (1)" in table


def test_table_and_files(tmp_path):
    runs = {
        "mortality": {
            "ts_only": [_run(1, [0.5, 0.2, 0.3, 0.9]), _run(2, [0.5, 0.2, 0.3, 0.9])],
            "a": [_run(1, [0.1, 0.4, 0.35, 0.8]), _run(2, [0.3, 0.2, 0.5, 0.6])],
            "b": [_run(1, [0.9, 0.4, 0.35, 0.8]), _run(2, [0.9, 0.2, 0.5, 0.6])],
        }
    }
    metrics = experiment_report(runs, _cohort(), tmp_path, n_bootstrap=50)
    table = write_experiment_report(metrics, tmp_path)
    assert (tmp_path / "metrics.md").read_text() == table
    assert json.loads((tmp_path / "metrics.json").read_text())["tasks"]["mortality"]["reference"] == "ts_only"
    assert "mean ± std over 2 seeds (1, 2)" in table
    assert "| a | 87.50 ± 17.68 |" in table  # AUROC x100: mean 0.875, sample std 0.1768
    assert "| a | +25.00" in table  # the ensembles' AUROC difference x100
    assert "p < 0.0250" in table  # two models against the reference: Bonferroni 0.05 / 2
    assert "n too small" in table
