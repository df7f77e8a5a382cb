import numpy as np
import pytest

from emerge.rag.ts_entities import abnormal_features
from foundation.errors import UserInputError

VARS = ["heart_rate", "systolic_bp", "glucose"]
LABELS = ["Heart Rate", "Systolic blood pressure", "Glucose"]


def test_only_observed_values_beyond_threshold_count():
    z = np.array(
        [
            [2.5, -0.5, 1.0],
            [3.1, -2.2, np.nan],
            [2.6, -1.0, 9.0],  # glucose 9.0 is imputed (not observed): ignored
            [0.0, -2.0, 0.0],
        ]
    )  # exactly -2.0 is not beyond the threshold
    observed = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 0], [1, 1, 1]], dtype=bool)
    found = abnormal_features(z, observed, VARS, LABELS)
    assert [(f.variable, f.direction, f.count) for f in found] == [
        ("heart_rate", "high", 2),
        ("systolic_bp", "low", 1),
    ]
    hr, sbp = found
    assert hr.phrase == "heart rate too high" and hr.clinical_term == "tachycardia"
    assert hr.max_abs_z == pytest.approx(3.1)
    assert sbp.phrase == "systolic blood pressure too low" and sbp.clinical_term == "hypotension"


def test_no_abnormal_values_gives_empty_list_and_bad_shapes_raise():
    z = np.zeros((48, 3))
    assert abnormal_features(z, np.ones_like(z, dtype=bool), VARS, LABELS) == []
    with pytest.raises(UserInputError, match="shape"):
        abnormal_features(np.zeros((48, 2)), np.ones((48, 2), bool), VARS, LABELS)
