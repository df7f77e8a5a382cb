"""The hourly grid (`emerge.data.hourly`) on hand-made events, and the one-pass streaming reader
in batches."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest

from emerge.data import timeseries
from emerge.data.build import build_dataset
from emerge.data.cohort import load_tables, select_cohort
from emerge.data.config import BuildConfig
from emerge.data.hourly import hourly_series
from emerge.data.sources import Sources
from emerge.data.timeseries import EVENT_SCHEMA, extract_events
from emerge.data.variables import CATEGORICAL_VARIABLES, NUMERIC_VARIABLES, VARIABLES
from foundation.errors import UserInputError
from tests.helpers.mimic import iv_root, iv_root_with_bad_chartevent

STAYS = pl.DataFrame({"stay_id": [7, 5], "intime": [datetime(2150, 1, 1, 10), datetime(2150, 1, 2, 0)]})


def _events(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=EVENT_SCHEMA, orient="row")


def test_last_value_per_hour_ties_and_window():
    e = _events(
        [
            (7, datetime(2150, 1, 1, 10, 50), "heart_rate", 80.0, None),
            (7, datetime(2150, 1, 1, 10, 10), "heart_rate", 70.0, None),  # earlier in the hour: not the last
            (7, datetime(2150, 1, 1, 11, 0), "heart_rate", 60.0, None),  # exactly 1 h after intime: hour 1
            (5, datetime(2150, 1, 3, 23, 59), "glucose", 100.0, None),  # hour 47
            (5, datetime(2150, 1, 3, 23, 59), "glucose", 120.0, None),  # same time: the later event wins
            (5, datetime(2150, 1, 4, 0, 0), "glucose", 999.0, None),  # hour 48: outside the grid
            (5, datetime(2150, 1, 1, 23, 0), "glucose", 999.0, None),  # before intime: outside
            (7, datetime(2150, 1, 1, 12, 0), "gcs_eye", None, "To Speech"),
            (7, datetime(2150, 1, 1, 12, 30), "gcs_eye", None, "odd text"),  # not a benchmark category
        ]
    )
    s = hourly_series(e, STAYS, BuildConfig(version="iv"))
    hr, glucose = (
        NUMERIC_VARIABLES.index(next(v for v in NUMERIC_VARIABLES if v.name == n))
        for n in ("heart_rate", "glucose")
    )
    assert s.stay_id.tolist() == [7, 5] and s.numeric.shape == (2, 48, 12) and s.cat_index.shape == (2, 48, 5)
    assert s.numeric[0, 0, hr] == 80.0 and s.numeric[0, 1, hr] == 60.0
    assert s.numeric[1, 47, glucose] == 120.0
    assert np.isfinite(s.numeric).sum() == 3  # nothing else, nothing outside the window
    eye = [v.name for v in CATEGORICAL_VARIABLES].index("gcs_eye")
    assert s.vocab["gcs_eye"][s.cat_index[0, 2, eye]] == "odd text"
    assert s.codes[0, 2, eye] == -1  # kept in the table, missing for the normalizer
    assert (s.cat_index >= 0).sum() == 1
    mask = s.mask
    assert mask.shape == (2, 48, 17) and mask.dtype == np.uint8 and mask.sum() == 4
    assert mask[0, 2, [v.name for v in VARIABLES].index("gcs_eye")] == 1

    table = s.table()
    assert (
        table.height == 96
        and table["stay_id"].to_list()[:48] == [7] * 48
        and table["hour"].to_list()[:3] == [0, 1, 2]
    )
    row = table.row(2, named=True)
    assert row["gcs_eye"] == "odd text" and row["gcs_eye_observed"] and row["heart_rate"] is None
    assert table.filter(pl.col("stay_id") == 5)["glucose"].drop_nulls().to_list() == [120.0]


def test_bins_of_two_hours():
    e = _events(
        [
            (7, datetime(2150, 1, 1, 11, 30), "spo2", 95.0, None),
            (7, datetime(2150, 1, 1, 10, 5), "spo2", 90.0, None),
        ]
    )
    s = hourly_series(e, STAYS, BuildConfig(version="iv", window_hours=4, bin_hours=2))
    spo2 = [v.name for v in NUMERIC_VARIABLES].index("spo2")
    assert s.numeric.shape == (2, 2, 12) and s.numeric[0, 0, spo2] == 95.0 and np.isnan(s.numeric[0, 1, spo2])


def test_no_events_gives_an_all_missing_grid():
    s = hourly_series(_events([]), STAYS, BuildConfig(version="iv"))
    assert np.isnan(s.numeric).all() and (s.cat_index == -1).all() and s.mask.sum() == 0
    assert s.table().height == 96


def test_small_batches_give_the_same_events_and_counts(tmp_path, monkeypatch):
    root = iv_root(tmp_path / "iv")
    config = BuildConfig(version="iv")
    sources = Sources(root, "iv")
    cohort, _ = select_cohort(load_tables(sources), config)
    whole, whole_counts = extract_events(sources, cohort, config, streaming=False)
    monkeypatch.setattr(timeseries, "BATCH_ROWS", 2)
    batched, batched_counts = extract_events(sources, cohort, config, streaming=True)
    assert batched_counts == whole_counts and whole_counts["ignored_itemid_rows"] == 2
    assert batched.sort(pl.all()).equals(whole.sort(pl.all())) and batched.height > 10


def test_bad_charttime_in_chartevents_names_the_file(tmp_path):
    root = iv_root_with_bad_chartevent(tmp_path / "iv", 0, "charttime", "noon")
    with pytest.raises(UserInputError, match=r"chartevents\.csv\.gz.*noon"):
        build_dataset(root, tmp_path / "ds", BuildConfig(version="iv"))
