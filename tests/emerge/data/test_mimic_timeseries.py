"""The MIMIC-IV reader on a hand-made root: hourly values, unit conversions, GCS total, counts, notes."""

from __future__ import annotations

import json
import logging

import numpy as np
import polars as pl
import pytest
from safetensors.numpy import load_file

from emerge.data.build import build_dataset
from emerge.data.config import BuildConfig
from emerge.data.normalize import feature_names
from tests.helpers.mimic import iv_root


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = iv_root(tmp_path_factory.mktemp("iv"))
    out = build_dataset(
        root, tmp_path_factory.mktemp("out") / "ds", BuildConfig(version="iv"), streaming=True
    )
    return root, out


def _value(ts: pl.DataFrame, stay: int, hour: int, column: str):
    return ts.filter((pl.col("stay_id") == stay) & (pl.col("hour") == hour))[column].item()


def test_cohort_rules_and_labels(built):
    _, out = built
    cohort = pl.read_parquet(out / "cohort.parquet")
    assert cohort["stay_id"].to_list() == [111, 121, 211]  # 311 is a 16-year-old
    info = json.loads((out / "dataset.json").read_text())
    assert info["exclusions"]["age_below_min"] == 1
    labels = dict(
        zip(
            cohort["stay_id"],
            zip(cohort["mortality_inhospital"], cohort["readmission_30d"], strict=True),
            strict=True,
        )
    )
    # 111: ICU stay 121 starts 15 days after discharge; 121: nothing after; 211: dies 9 days after ICU.
    assert labels == {111: (0, 1), 121: (0, 0), 211: (1, 1)}
    assert cohort.filter(pl.col("stay_id") == 111)["age"].item() == 60.0
    # Both stays of patient 1 are in the same split.
    assert cohort.filter(pl.col("subject_id") == 1)["split"].n_unique() == 1


def test_hourly_values_conversions_and_last_value(built):
    _, out = built
    ts = pl.read_parquet(out / "timeseries.parquet")
    assert ts.height == 3 * 48
    assert _value(ts, 111, 0, "heart_rate") == 90.0  # last of 80 and 90 in hour 0
    assert _value(ts, 111, 2, "heart_rate") is None  # 500 bpm dropped as out of range
    assert _value(ts, 111, 1, "temperature") == pytest.approx(37.0)  # 98.6 F
    assert _value(ts, 111, 0, "weight") == pytest.approx(220 * 0.453592)
    assert _value(ts, 111, 0, "height") == pytest.approx(177.8)
    assert _value(ts, 111, 3, "fio2") == pytest.approx(0.5)
    assert _value(ts, 111, 3, "spo2") == 97.0  # text-only value parsed
    assert _value(ts, 111, 2, "ph") == pytest.approx(7.4)  # from labevents via hadm_id
    assert _value(ts, 111, 4, "gcs_total") == "15"  # eye 4 + verbal 5 + motor 6 at the same time
    assert _value(ts, 111, 4, "gcs_eye") == "Spontaneously"
    assert _value(ts, 111, 5, "gcs_eye") == "To Speech"
    assert _value(ts, 111, 5, "gcs_total") is None  # eye alone: no total
    assert _value(ts, 111, 6, "capillary_refill") == "0.0"
    assert _value(ts, 111, 7, "capillary_refill") is None  # "purple" is no category
    assert _value(ts, 211, 5, "heart_rate") == 100.0
    assert _value(ts, 121, 1, "heart_rate") == 60.0
    assert ts.filter(pl.col("stay_id") == 111)["heart_rate_observed"].sum() == 1  # hour 48 outside the window


def test_skip_counts(built):
    _, out = built
    skips = json.loads((out / "dataset.json").read_text())["skips"]["timeseries"]
    assert skips["out_of_valid_range"] == 1
    assert skips["unmapped_category"] == 1
    assert skips["ignored_itemid_rows"] == 2  # chart itemid 999999 and lab itemid 51221
    assert skips["stays_without_events"] == 0


def test_features_tensor_layout(built):
    _, out = built
    tensors = load_file(str(out / "features.safetensors"))
    x, mask = tensors["x"], tensors["mask"]
    assert x.shape == (3, 48, 61) and x.dtype == np.float32
    assert mask.shape == (3, 48, 17) and mask.dtype == np.uint8
    assert tensors["stay_id"].tolist() == [111, 121, 211]
    names = feature_names()
    info = json.loads((out / "dataset.json").read_text())
    assert info["feature_names"] == names
    # GCS total one-hot "15" is on from hour 4 on for stay 111 (forward fill), and sex is male.
    col = names.index("gcs_total=15")
    assert x[0, 4:, col].tolist() == [1.0] * 44
    assert x[0, :, names.index("sex")].tolist() == [1.0] * 48
    hr = info["variables"].index("heart_rate")
    assert mask[0, :, hr].sum() == 1 and mask[0, 0, hr] == 1


def test_notes_in_window_only(built):
    _, out = built
    notes = pl.read_parquet(out / "notes.parquet")
    assert notes["note_id"].to_list() == ["1-RR-1"]
    row = notes.row(0, named=True)
    assert row["stay_id"] == 111 and row["hours_from_intime"] == pytest.approx(10.0)
    assert row["text"] == "CHEST X-RAY : no acute process."  # cleaned by drehr.chunking.clean_note


def test_discharge_notes_opt_in_warns(tmp_path, caplog):
    root = iv_root(tmp_path / "iv", chartevents=False)
    config = BuildConfig(version="iv", include_discharge_notes=True)
    with caplog.at_level(logging.WARNING):
        out = build_dataset(root, tmp_path / "ds", config)
    notes = pl.read_parquet(out / "notes.parquet")
    assert sorted(notes["note_id"]) == ["1-DS-1", "1-RR-1"]
    assert notes.filter(pl.col("note_id") == "1-DS-1")["hours_from_intime"].item() == pytest.approx(218.0)
    assert any("leak" in r.message for r in caplog.records if r.levelno == logging.WARNING)


def test_uncompressed_csv_gives_the_same_series(built, tmp_path):
    _, out = built
    root = iv_root(tmp_path / "plain", suffix=".csv")
    plain = build_dataset(root, tmp_path / "ds", BuildConfig(version="iv"), streaming=False)
    assert pl.read_parquet(plain / "timeseries.parquet").equals(pl.read_parquet(out / "timeseries.parquet"))
