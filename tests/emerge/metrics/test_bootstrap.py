"""The vectorised bootstrap agrees with scikit-learn resample by resample, and is seeded."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from emerge.metrics import bootstrap_ci, min_p_se, resampled_ranking_metrics


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    # Rounded scores create many ties, the hard case for a vectorised implementation.
    p = np.round(np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1), 1)
    return y, p


def test_vectorised_metrics_match_sklearn_per_resample():
    y, p = _data()
    idx = np.random.default_rng(1).integers(0, y.size, size=(25, y.size))
    got = resampled_ranking_metrics(y, p, idx)
    for b in range(idx.shape[0]):
        yb, pb = y[idx[b]], p[idx[b]]
        assert got["auroc"][b] == pytest.approx(roc_auc_score(yb, pb))
        assert got["auprc"][b] == pytest.approx(average_precision_score(yb, pb))
        assert got["min_p_se"][b] == pytest.approx(min_p_se(yb, pb))


def test_single_class_resample_is_nan():
    y = np.array([0, 1])
    p = np.array([0.2, 0.7])
    idx = np.array([[0, 0], [0, 1]])  # first resample draws only the negative
    got = resampled_ranking_metrics(y, p, idx)
    assert np.isnan(got["auroc"][0]) and got["auroc"][1] == 1.0


def test_bootstrap_is_seeded_and_brackets_the_point_estimate():
    y, p = _data(200, seed=3)
    a = bootstrap_ci(y, p, n_resamples=300, seed=7)
    b = bootstrap_ci(y, p, n_resamples=300, seed=7)
    c = bootstrap_ci(y, p, n_resamples=300, seed=8)
    assert a == b
    assert a["auroc"].ci != c["auroc"].ci
    point = roc_auc_score(y, p)
    lo, hi = a["auroc"].ci
    assert lo < point < hi
    assert a["auroc"].n_valid == 300
    assert 0 < a["auroc"].std < 0.2


def test_bootstrap_chunks_do_not_change_the_result():
    y, p = _data(80)
    one = bootstrap_ci(y, p, n_resamples=100, seed=0, chunk=100)
    # Chunking draws the same random stream in the same order.
    many = bootstrap_ci(y, p, n_resamples=100, seed=0, chunk=30)
    assert one["auprc"].mean == pytest.approx(many["auprc"].mean)


def test_rare_positives_warn_about_dropped_resamples():
    y = np.array([1] + [0] * 19)
    p = np.linspace(1, 0, 20)
    with pytest.warns(RuntimeWarning, match="single class and were dropped"):
        out = bootstrap_ci(y, p, n_resamples=200, seed=0)
    assert 0 < out["auroc"].n_valid < 200
