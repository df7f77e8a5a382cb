"""DeLong's test and the paired bootstrap on cases with known answers.

References checked here:
- DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44:837-845, section 2: the structural components
  V10 / V01, S10 / S01 and S = S10 / m + S01 / n, written out below as a direct O(N^2) loop.
- A hand-worked four-stay example with a tie across the classes (variances and covariance by hand).
(No third-party data set is copied into this file: the cross-checks use those references and
seeded synthetic scores.)
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import average_precision_score, roc_auc_score

from emerge.metrics import bootstrap_ci, delong_covariance, delong_test, paired_bootstrap
from foundation.errors import UserInputError


def _reference_delong(y, scores):
    """DeLong et al. (1988) section 2 literally: psi kernel, components by double loops, S = S10/m + S01/n."""
    y = np.asarray(y)
    scores = np.atleast_2d(scores)

    def psi(x, v):
        return 1.0 if x > v else 0.5 if x == v else 0.0

    v10, v01, theta = [], [], []
    for s in scores:
        xs, ys = s[y == 1], s[y == 0]
        v10.append([np.mean([psi(x, v) for v in ys]) for x in xs])  # V10(X_i), i = 1..m
        v01.append([np.mean([psi(x, v) for x in xs]) for v in ys])  # V01(Y_j), j = 1..n
        theta.append(np.mean([psi(x, v) for x in xs for v in ys]))
    v10, v01, theta = np.array(v10), np.array(v01), np.array(theta)
    m, n = v10.shape[1], v01.shape[1]
    s10 = (v10 - theta[:, None]) @ (v10 - theta[:, None]).T / (m - 1)
    s01 = (v01 - theta[:, None]) @ (v01 - theta[:, None]).T / (n - 1)
    return theta, s10 / m + s01 / n


# --- DeLong ----------------------------------------------------------------------------------------------


def test_delong_hand_computed_example_with_ties():
    # Model a: positives X = (0.8, 0.4), negatives Y = (0.4, 0.2) (a tie across classes).
    #   V10 = (1, 3/4), V01 = (3/4, 1), AUROC 7/8; S10 = S01 = 1/32 (ddof 1); var = 1/32/2 + 1/32/2 = 1/32.
    # Model b: X = (0.3, 0.6), Y = (0.6, 0.1): V10 = (1/2, 3/4), V01 = (1/4, 1), AUROC 5/8;
    #   S10 = 1/32, S01 = 9/32: var = 5/32. Covariance: S10_ab = -1/32, S01_ab = 3/32: cov = 1/32.
    # diff 1/4 with var 1/32 + 5/32 - 2/32 = 1/8 (the same from V10 diffs (1/2, 0), V01 diffs (1/2, 0)).
    y = np.array([1, 1, 0, 0])
    a = np.array([0.8, 0.4, 0.4, 0.2])
    b = np.array([0.3, 0.6, 0.6, 0.1])
    auc, cov = delong_covariance(y, np.stack([a, b]))
    assert auc == pytest.approx([7 / 8, 5 / 8])
    assert cov == pytest.approx(np.array([[1 / 32, 1 / 32], [1 / 32, 5 / 32]]))
    r = delong_test(y, a, b)
    assert (r.value_a, r.value_b, r.diff) == pytest.approx((7 / 8, 5 / 8, 1 / 4))
    assert r.se == pytest.approx(np.sqrt(1 / 8))
    z = 0.25 / np.sqrt(1 / 8)  # 0.7071
    assert r.p_value == pytest.approx(2 * norm.sf(z))
    assert r.ci == pytest.approx((0.25 - 1.959964 * np.sqrt(1 / 8), 0.25 + 1.959964 * np.sqrt(1 / 8)))
    assert (r.n, r.positives, r.method, r.metric) == (4, 2, "delong", "auroc")


def test_delong_covariance_matches_the_direct_formulas_with_ties():
    rng = np.random.default_rng(0)
    y = (rng.random(40) < 0.35).astype(int)
    # Three correlated models on a coarse grid (many ties, within and across classes).
    base = 0.3 * y + rng.random(40)
    scores = np.round(np.stack([base, base + 0.5 * rng.random(40), rng.random(40)]), 1)  # [3, 40]
    auc, cov = delong_covariance(y, scores)
    ref_auc, ref_cov = _reference_delong(y, scores)
    assert auc == pytest.approx(ref_auc, rel=1e-12)
    assert cov == pytest.approx(ref_cov, rel=1e-12)
    assert auc == pytest.approx([roc_auc_score(y, s) for s in scores], rel=1e-12)
    r = delong_test(y, scores[0], scores[1])
    assert r.se**2 == pytest.approx(ref_cov[0, 0] + ref_cov[1, 1] - 2 * ref_cov[0, 1], rel=1e-10)


def _seeded(n: int = 113):
    """Seeded synthetic labels and three markers with ties (a stand-in for a clinical data set)."""
    rng = np.random.default_rng(3)
    y = (rng.random(n) < 0.36).astype(np.float64)
    markers = {
        "wfns": np.round(y * 1.5 + rng.normal(size=n)),  # integer grades: many ties
        "s100b": y * 0.8 + rng.normal(size=n),
        "ndka": y * 0.3 + rng.normal(size=n),
    }
    return y, markers


def test_delong_identical_models_give_z0_p1():
    y, markers = _seeded()
    r = delong_test(y, markers["wfns"], markers["wfns"])
    assert r.diff == 0.0 and r.se == 0.0 and r.p_value == 1.0 and r.ci == (0.0, 0.0)


def test_delong_leaves_out_unknown_labels():
    y, markers = _seeded()
    y_nan = y.copy()
    y_nan[:10] = np.nan
    with_nan = delong_test(y_nan, markers["wfns"], markers["s100b"])
    dropped = delong_test(y[10:], markers["wfns"][10:], markers["s100b"][10:])
    assert with_nan == dropped and with_nan.n == 103


def test_delong_needs_two_of_each_class():
    y = np.array([1, 0, 0, 0])
    with pytest.warns(RuntimeWarning, match="at least 2 positive"):
        r = delong_test(y, [0.9, 0.1, 0.2, 0.3], [0.5, 0.6, 0.1, 0.2])
    assert r.value_a == 1.0 and np.isnan(r.se) and np.isnan(r.p_value)
    with pytest.raises(UserInputError, match="at least 2 positive"):
        delong_covariance(y, [0.9, 0.1, 0.2, 0.3])


def test_delong_rejects_bad_input():
    with pytest.raises(UserInputError, match="model B"):
        delong_test([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2], [0.9, 0.1, 0.8])
    with pytest.raises(UserInputError, match="NaN or inf"):
        delong_test([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2], [0.9, np.nan, 0.8, 0.2])


# --- paired bootstrap ------------------------------------------------------------------------------------


def _two_models(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    good = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    weak = np.clip(0.10 * y + 0.90 * rng.random(n), 0, 1)
    return y, good, weak


def test_bootstrap_identical_models_give_diff0_p1():
    y, good, _ = _two_models()
    out = paired_bootstrap(y, good, good, metrics=("auroc", "auprc", "min_p_se", "brier"), n_resamples=200)
    for r in out.values():
        assert r.diff == 0.0 and r.ci == (0.0, 0.0) and r.se == 0.0 and r.p_value == 1.0
        assert r.method == "bootstrap" and r.n_valid == 200


def test_bootstrap_perfect_beats_random_with_p_below_001():
    rng = np.random.default_rng(1)
    y = (rng.random(150) < 0.4).astype(int)
    perfect = 0.6 * y + 0.4 * rng.random(150)  # every positive above every negative
    random = rng.random(150)
    out = paired_bootstrap(y, perfect, random, n_resamples=1000, seed=0)
    for key in ("auroc", "auprc"):
        r = out[key]
        assert r.value_a == pytest.approx(1.0) and r.diff > 0.3 and r.ci[0] > 0
        # No resample has diff <= 0, so p = 2 * (1 + 0) / (1 + 1000).
        assert r.p_value == pytest.approx(2 / 1001) and r.p_value < 0.01
    # Swapping the models flips every difference and keeps p.
    back = paired_bootstrap(y, random, perfect, n_resamples=1000, seed=0)
    assert back["auroc"].ci == pytest.approx((-out["auroc"].ci[1], -out["auroc"].ci[0]))
    assert back["auroc"].p_value == out["auroc"].p_value


def test_bootstrap_is_seeded_and_differences_match_sklearn():
    y, good, weak = _two_models()
    a = paired_bootstrap(y, good, weak, n_resamples=300, seed=7)
    assert a == paired_bootstrap(y, good, weak, n_resamples=300, seed=7)
    assert a["auroc"].ci != paired_bootstrap(y, good, weak, n_resamples=300, seed=8)["auroc"].ci
    assert a["auroc"].diff == pytest.approx(roc_auc_score(y, good) - roc_auc_score(y, weak), rel=1e-12)
    assert a["auprc"].diff == pytest.approx(
        average_precision_score(y, good) - average_precision_score(y, weak), rel=1e-12
    )
    lo, hi = a["auroc"].ci
    assert lo < a["auroc"].diff < hi
    # Chunking draws the same stream in the same order.
    assert paired_bootstrap(y, good, weak, n_resamples=300, seed=7, chunk=45) == a


def test_bootstrap_uses_the_resamples_of_bootstrap_ci():
    # Against a constant model (AUROC exactly 1/2 in every resample) the paired differences are the
    # single-model bootstrap values minus 1/2, resample by resample, when both use the same seed.
    y, good, _ = _two_models()
    paired = paired_bootstrap(y, good, np.full(y.size, 0.5), metrics=("auroc",), n_resamples=400, seed=3)
    single = bootstrap_ci(y, good, n_resamples=400, seed=3)
    assert paired["auroc"].ci == pytest.approx((single["auroc"].ci[0] - 0.5, single["auroc"].ci[1] - 0.5))


def test_bootstrap_agrees_with_delong_on_seeded_scores():
    """Two estimates of the same sampling error of a paired AUROC difference (300 stays, 90 positive)."""
    rng = np.random.default_rng(7)
    y = (rng.random(300) < 0.3).astype(np.float64)
    a = y * 1.2 + rng.normal(size=300)
    b = y * 0.6 + 0.5 * a + rng.normal(size=300)  # correlated with a, as two models of the same stays
    boot = paired_bootstrap(y, a, b, metrics=("auroc",), n_resamples=2000)["auroc"]
    delong = delong_test(y, a, b)
    assert boot.diff == pytest.approx(delong.diff, rel=1e-12)
    assert boot.se == pytest.approx(delong.se, rel=0.15)
    assert boot.ci == pytest.approx(delong.ci, abs=0.02)


def test_bootstrap_drops_single_class_resamples_and_counts_them():
    y = np.array([1, 1] + [0] * 18)
    a, b = np.linspace(1, 0, 20), np.linspace(0, 1, 20)
    with pytest.warns(RuntimeWarning, match="single class and were dropped"):
        out = paired_bootstrap(y, a, b, metrics=("auroc", "brier"), n_resamples=300)
    assert 0 < out["auroc"].n_valid < 300 and out["auroc"].n_resamples == 300
    assert out["brier"].n_valid == 300  # the Brier score is defined on every resample


def test_bootstrap_brier_difference_is_the_whole_set_difference():
    y, good, weak = _two_models()
    r = paired_bootstrap(y, good, weak, metrics=("brier",), n_resamples=100)["brier"]
    assert r.diff == pytest.approx(np.mean((good - y) ** 2) - np.mean((weak - y) ** 2), rel=1e-12)


def test_bootstrap_rejects_unknown_metric_and_bad_sizes():
    y, good, weak = _two_models()
    with pytest.raises(UserInputError, match="choose from"):
        paired_bootstrap(y, good, weak, metrics=("accuracy",))
    with pytest.raises(UserInputError, match="n_resamples"):
        paired_bootstrap(y, good, weak, n_resamples=0)
    with pytest.raises(UserInputError, match="choose from"):
        paired_bootstrap(y, good, weak, metrics=())
    assert list(paired_bootstrap(y, good, weak, metrics="auprc", n_resamples=10)) == ["auprc"]
    r = paired_bootstrap(y, good, weak, n_resamples=10)["auroc"]
    assert r.to_dict()["ci"] == list(r.ci)
