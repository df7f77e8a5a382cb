"""Stacking: a logistic regression over other models' predicted probabilities.

The stacker is fitted on the validation split (the members were trained on the training split and
never saw it) and applied to the test split. It answers "do the modalities carry complementary
signal at all?" without any joint training: if stacking time-series-only and notes-only predictions
beats the time series alone while a fusion network does not, the fusion, not the notes, is at fault.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from foundation.errors import UserInputError

__all__ = ["stack_predictions"]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def stack_predictions(
    val_y: np.ndarray,
    val_probs: Mapping[str, np.ndarray],
    test_probs: Mapping[str, np.ndarray],
    c: float = 1.0,
) -> np.ndarray:
    """Test probabilities [N_test] of a logistic regression on the members' logits.

    Args:
        val_y: [N_val] labels of the validation split (NaN = unknown, left out).
        val_probs / test_probs: member name -> [N_val] / [N_test] probabilities (same members).
        c: inverse L2 strength of scikit-learn's LogisticRegression.
    """
    from sklearn.linear_model import LogisticRegression

    names = sorted(val_probs)
    if not names or sorted(test_probs) != names:
        raise UserInputError(
            f"stacking needs the same members on both splits, got {names} and {sorted(test_probs)}"
        )
    y = np.asarray(val_y, dtype=np.float64)
    known = ~np.isnan(y)
    if len(np.unique(y[known])) < 2:
        raise UserInputError("stacking needs both classes in the validation split")
    x_val = np.stack([_logit(val_probs[n]) for n in names], axis=1)[known]  # [N_val, M]
    x_test = np.stack([_logit(test_probs[n]) for n in names], axis=1)  # [N_test, M]
    model = LogisticRegression(C=c).fit(x_val, y[known].astype(int))
    return model.predict_proba(x_test)[:, 1]
