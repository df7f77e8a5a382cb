"""Point metrics on hand-computed cases, and their handling of degenerate input."""

from __future__ import annotations

import numpy as np
import pytest

from emerge.metrics import auprc, auroc, brier, expected_calibration_error, min_p_se, reliability_bins
from foundation.errors import UserInputError

# Sorted by score: 0.8 (+), 0.4 (-), 0.35 (+), 0.1 (-).
Y = [0, 0, 1, 1]
P = [0.1, 0.4, 0.35, 0.8]


def test_auroc_hand_computed():
    # 4 (pos, neg) pairs; only (0.35, 0.4) is ranked wrongly: 3/4.
    assert auroc(Y, P) == pytest.approx(0.75)


def test_auprc_is_average_precision_hand_computed():
    # Precision at each positive: 1/1 and 2/3 -> mean 5/6.
    assert auprc(Y, P) == pytest.approx(5 / 6)


def test_min_p_se_hand_computed():
    # Thresholds: (P, R) = (1, .5), (.5, .5), (2/3, 1), (.5, 1) -> best min is 2/3.
    assert min_p_se(Y, P) == pytest.approx(2 / 3)


def test_ties_follow_one_threshold_per_distinct_score():
    y, p = [1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1]
    # The tied (0.5, 0.5) pair counts one half: (0.5 + 1 + 1 + 1) / 4.
    assert auroc(y, p) == pytest.approx(0.875)
    # Thresholds 0.9 -> (P=1, R=.5), 0.5 -> (P=2/3, R=1): AP = .5 * 1 + .5 * 2/3.
    assert auprc(y, p) == pytest.approx(0.5 + 1 / 3)
    assert min_p_se(y, p) == pytest.approx(2 / 3)


def test_perfect_ranking_gives_ones():
    y, p = [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]
    assert auroc(y, p) == 1.0 and auprc(y, p) == 1.0 and min_p_se(y, p) == 1.0


def test_brier_hand_computed():
    assert brier([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)


def test_reliability_bins_and_ece_hand_computed():
    y, p = [0, 0, 1, 1], [0.1, 0.2, 0.7, 1.0]
    bins = reliability_bins(y, p, n_bins=2)
    np.testing.assert_allclose(bins.mean_predicted, [0.15, 0.85])
    np.testing.assert_allclose(bins.fraction_positive, [0.0, 1.0])
    np.testing.assert_array_equal(bins.count, [2, 2])
    # 0.5 * |0 - 0.15| + 0.5 * |1 - 0.85| = 0.15
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.15)


def test_empty_bins_are_kept_as_nan():
    bins = reliability_bins([0, 1], [0.05, 0.95], n_bins=4)
    assert bins.count.tolist() == [1, 0, 0, 1]
    assert np.isnan(bins.mean_predicted[1]) and np.isnan(bins.fraction_positive[2])


def test_single_class_gives_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="no positive stay"):
        assert np.isnan(auroc([0, 0, 0], [0.1, 0.2, 0.3]))
    with pytest.warns(RuntimeWarning, match="no negative stay"):
        assert np.isnan(min_p_se([1, 1], [0.1, 0.2]))
    # The Brier score stays defined.
    assert brier([0, 0], [0.0, 0.5]) == pytest.approx(0.125)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_scores_raise(bad):
    with pytest.raises(UserInputError, match="NaN or inf"):
        auprc([0, 1, 1], [0.1, bad, 0.3])


def test_bad_labels_and_lengths_raise():
    with pytest.raises(UserInputError, match="0 or 1"):
        auroc([0, 2], [0.1, 0.2])
    with pytest.raises(UserInputError, match="2 labels but 3 scores"):
        auroc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(UserInputError, match=r"\[0, 1\]"):
        brier([0, 1], [-0.5, 2.0])
