"""Subgroup metrics and age bands on hand-made cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from emerge.metrics import TOO_SMALL, age_bands, evaluate_predictions, subgroup_metrics
from foundation.errors import UserInputError


def test_age_bands_edges():
    got = age_bands([18, 44, 44.9, 45, 64, 65, 79, 80, 91, 300, 17, np.nan])
    assert got.tolist() == [
        "18-44",
        "18-44",
        "18-44",
        "45-64",
        "45-64",
        "65-79",
        "65-79",
        "80+",
        "80+",
        "80+",  # MIMIC-III's shifted age of patients over 89
        "0-17",
        "unknown",
    ]
    with pytest.raises(UserInputError, match="negative"):
        age_bands([40, -3])


def _two_sexes():
    # 60 women: probabilities 0.9 for the 20 positives, 0.1 for the 40 negatives (perfect ranking).
    # 60 men: the same labels with the probabilities swapped (every positive below every negative).
    y_f = np.array([1] * 20 + [0] * 40)
    p_f = np.where(y_f == 1, 0.9, 0.1)
    y = np.concatenate([y_f, y_f]).astype(float)
    p = np.concatenate([p_f, 1.0 - p_f])
    sex = np.array(["F"] * 60 + ["M"] * 60)
    return y, p, sex


def test_hand_computed_subgroups():
    y, p, sex = _two_sexes()
    out = subgroup_metrics(y, p, {"sex": sex})
    f, m = out["sex"]["F"], out["sex"]["M"]
    assert (f["n"], f["positives"], m["n"], m["positives"]) == (60, 20, 60, 20)
    assert f["auroc"] == 1.0 and m["auroc"] == 0.0
    # Women: AUPRC 1; Brier = 0.1^2 for every stay; ECE: bin [0.1, 0.2) has mean 0.1, positive rate 0,
    # bin [0.9, 1.0] mean 0.9, rate 1: 40/60 * 0.1 + 20/60 * 0.1 = 0.1.
    assert f["auprc"] == pytest.approx(1.0)
    assert f["brier"] == pytest.approx(0.01) and f["ece"] == pytest.approx(0.1)
    # Men: the positives all rank last, AUPRC = prevalence 1/3; Brier 0.9^2; ECE 0.9.
    assert m["auprc"] == pytest.approx(1 / 3)
    assert m["brier"] == pytest.approx(0.81) and m["ece"] == pytest.approx(0.9)


def test_small_subgroups_say_n_too_small():
    y, p, sex = _two_sexes()
    out = subgroup_metrics(y, p, {"sex": sex}, min_n=61)
    assert out["sex"]["F"] == {
        "n": 60,
        "positives": 20,
        "auroc": TOO_SMALL,
        "auprc": TOO_SMALL,
        "brier": TOO_SMALL,
        "ece": TOO_SMALL,
    }
    assert TOO_SMALL == "n too small"
    # 20 positives < 21; the rule applies to negatives too (40 negatives < 41).
    assert subgroup_metrics(y, p, {"sex": sex}, min_positives=21)["sex"]["M"]["auroc"] == TOO_SMALL
    y_neg = 1.0 - y  # now 40 positives and 20 negatives per group
    assert subgroup_metrics(y_neg, p, {"sex": sex}, min_positives=21)["sex"]["F"]["ece"] == TOO_SMALL


def test_one_group_holding_every_stay_matches_the_whole_test_set():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.2).astype(float)
    p = np.clip(0.3 * y + 0.7 * rng.random(300), 0, 1)
    whole = evaluate_predictions(y, p, n_bootstrap=1)
    row = subgroup_metrics(y, p, {"all": np.zeros(300, dtype=int)})["all"]["0"]
    for key in ("auroc", "auprc", "brier", "ece", "n", "positives"):
        assert row[key] == pytest.approx(whole[key]), key


def test_age_groups_sorted_with_unknown_last_and_counts_add_up():
    rng = np.random.default_rng(1)
    age = rng.integers(18, 95, size=400).astype(float)
    age[:7] = np.nan
    y = (rng.random(400) < 0.3).astype(float)
    y[-5:] = np.nan  # unknown labels are left out
    p = rng.random(400)
    out = subgroup_metrics(y, p, {"age": age_bands(age), "sex": rng.choice(["F", "M", None], size=400)})
    assert list(out["age"]) == ["18-44", "45-64", "65-79", "80+", "unknown"]
    assert out["age"]["unknown"]["n"] == 7 and out["age"]["unknown"]["auroc"] == TOO_SMALL
    assert sum(r["n"] for r in out["age"].values()) == 395
    assert list(out["sex"]) == ["F", "M", "unknown"]
    assert sum(r["positives"] for r in out["sex"].values()) == int(np.nansum(y))


def test_bad_input_is_named():
    y, p, sex = _two_sexes()
    with pytest.raises(UserInputError, match="'sex' has 3 values for 120 stays"):
        subgroup_metrics(y, p, {"sex": sex[:3]})
    with pytest.raises(UserInputError, match="groups is empty"):
        subgroup_metrics(y, p, {})
    with pytest.raises(UserInputError, match="min_n"):
        subgroup_metrics(y, p, {"sex": sex}, min_n=0)
