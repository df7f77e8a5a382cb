"""Pure parts of the data layer on hand-computed values: statistics, imputation, splits, labels, config."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from emerge.data.config import BuildConfig, LabelConfig, SplitConfig
from emerge.data.labels import add_labels
from emerge.data.normalize import Normalizer, NumericStats, feature_names, forward_fill, robust_stats
from emerge.data.splits import split_patients
from emerge.data.variables import CATEGORICAL_VARIABLES, NUMERIC_VARIABLES
from foundation.errors import UserInputError


def test_robust_stats_inside_5_95_percentile():
    values = np.array([np.nan, *range(1, 21), 1000.0])  # 21 values; p5 = 2, p95 = 20 (linear)
    s = robust_stats(values)
    inner = np.arange(2, 21)  # 2..20 kept, 1 and 1000 outside
    assert s.mean == pytest.approx(inner.mean())
    assert s.std == pytest.approx(inner.std())
    assert s.median == pytest.approx(11.0)
    assert robust_stats(np.array([np.nan])) == NumericStats(None, None, None)


def test_forward_fill_keeps_leading_gaps():
    a = np.array([[np.nan, 1, np.nan, 3], [2, np.nan, np.nan, np.nan]])[:, :, None]
    out = forward_fill(a)[:, :, 0]
    assert np.isnan(out[0, 0])
    assert out[0, 1:].tolist() == [1, 1, 3] and out[1].tolist() == [2, 2, 2, 2]


def _normalizer(mean=10.0, std=2.0, median=12.0, mode=1) -> Normalizer:
    return Normalizer(
        {v.name: NumericStats(mean, std, median) for v in NUMERIC_VARIABLES},
        {v.name: mode for v in CATEGORICAL_VARIABLES},
        NumericStats(50.0, 10.0, 50.0),
    )


def test_transform_imputes_like_emerge():
    n_num, n_cat = len(NUMERIC_VARIABLES), len(CATEGORICAL_VARIABLES)
    numeric = np.full((1, 3, n_num), np.nan)
    numeric[0, 1, 0] = 14.0  # first numeric variable observed at step 1 only
    codes = np.full((1, 3, n_cat), -1)
    codes[0, 2, 0] = 0  # first categorical variable: category 0 at step 2
    x = _normalizer().transform(numeric, codes, np.array([0.0]), np.array([70.0]))
    names = feature_names()
    assert x.shape == (1, 3, 61)
    col = names.index(NUMERIC_VARIABLES[0].name)
    # step 0: train median 12 -> (12-10)/2 = 1; steps 1, 2: 14 -> 2 (forward fill)
    assert x[0, :, col].tolist() == [1.0, 2.0, 2.0]
    cat = CATEGORICAL_VARIABLES[0].name
    first, second = names.index(f"{cat}=0.0"), names.index(f"{cat}=1.0")
    assert x[0, :, first].tolist() == [0, 0, 1] and x[0, :, second].tolist() == [1, 1, 0]  # mode 1 before
    assert (
        x[0, :, names.index("age")].tolist() == [2.0] * 3 and x[0, :, names.index("sex")].tolist() == [0] * 3
    )


def test_normalizer_round_trip(tmp_path):
    norm = _normalizer()
    norm.save(tmp_path / "n.json")
    assert Normalizer.load(tmp_path / "n.json") == norm


def test_split_patients_proportions_and_determinism():
    ids = np.arange(100, 120)
    strata = np.array([0] * 10 + [1] * 10)
    config = SplitConfig(seed=3)
    out = split_patients(ids, strata, config)
    for stratum in (0, 1):
        members = [out[i] for i in ids[strata == stratum]]
        assert (members.count("train"), members.count("val"), members.count("test")) == (7, 1, 2)
    assert out == split_patients(ids[::-1].copy(), strata[::-1].copy(), config)  # order-independent
    assert out != split_patients(ids, strata, SplitConfig(seed=4))


def test_split_fractions_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        SplitConfig(train=0.7, val=0.2, test=0.2)


def _t(day: int, hour: int = 0) -> datetime:
    return datetime(2150, 1, day, hour)


def test_readmission_definitions():
    cohort = pl.DataFrame(
        {
            "stay_id": [1, 2],
            "subject_id": [10, 20],
            "admittime": [_t(1), _t(1)],
            "dischtime": [_t(5), _t(5)],
            "outtime": [_t(4), _t(4)],
            "deathtime": [None, None],
            "dod": [None, _t(25)],
            "hospital_expire_flag": [0, None],
        },
        schema_overrides={"deathtime": pl.Datetime, "dod": pl.Datetime},
    )
    icustays = pl.DataFrame({"subject_id": [10, 10], "intime": [_t(2), _t(20)]})  # 16 days after outtime
    admissions = pl.DataFrame(
        {"subject_id": [10, 20], "admittime": [_t(18), _t(1)]}
    )  # 13 days after dischtime
    emerge = add_labels(cohort, icustays, admissions, LabelConfig())
    assert emerge["readmission_30d"].to_list() == [1, 0]  # ICU stay on day 20; a death after discharge
    dod = add_labels(cohort, icustays, admissions, LabelConfig(readmission_death="date_of_death"))
    assert dod["readmission_30d"].to_list() == [1, 1]  # ... counts with the date of death (day 25)
    assert emerge["mortality_inhospital"].to_list() == [0, 0]
    assert add_labels(cohort, icustays, admissions, LabelConfig(readmission="icu"))[
        "readmission_30d"
    ].to_list() == [1, 0]
    icu10 = add_labels(cohort, icustays, admissions, LabelConfig(readmission="icu", readmission_days=10))
    assert icu10["readmission_30d"].to_list() == [0, 0]
    hosp = add_labels(cohort, icustays, admissions, LabelConfig(readmission="hospital", readmission_days=15))
    assert hosp["readmission_30d"].to_list() == [1, 0]


def test_config_from_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("cohort:\n  min_age: 16\nwindow_hours: 24\nversion: iii\n")
    config = BuildConfig.from_yaml(path, version="iv")
    assert (config.cohort.min_age, config.window_hours, config.steps, config.version) == (16, 24, 24, "iv")
    path.write_text("window_hourz: 24\n")
    with pytest.raises(UserInputError, match="window_hourz"):
        BuildConfig.from_yaml(path)
    with pytest.raises(ValueError, match="multiple"):
        BuildConfig(window_hours=48, bin_hours=5)
