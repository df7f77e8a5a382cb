"""The MIMIC-III reader: upper-case layout, CareVue itemids, ages > 89, NOTEEVENTS rules."""

from __future__ import annotations

import json
import logging

import polars as pl
import pytest

from emerge.data.build import build_dataset
from emerge.data.config import BuildConfig
from tests.helpers.mimic import iii_root


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = iii_root(tmp_path_factory.mktemp("iii"))
    return root, build_dataset(root, tmp_path_factory.mktemp("out") / "ds", BuildConfig(version="iii"))


def test_cohort_age_and_mortality(built):
    _, out = built
    cohort = pl.read_parquet(out / "cohort.parquet")
    assert cohort["stay_id"].to_list() == [111, 211]
    ages = dict(zip(cohort["stay_id"], cohort["age"], strict=True))
    assert ages[211] == pytest.approx(91.4)  # DOB shifted by 300 years: the benchmark's 91.4
    assert ages[111] == pytest.approx(60.0, abs=0.01)
    assert dict(zip(cohort["stay_id"], cohort["mortality_inhospital"], strict=True)) == {111: 0, 211: 1}


def test_carevue_itemids_and_units(built):
    _, out = built
    ts = pl.read_parquet(out / "timeseries.parquet").filter(pl.col("stay_id") == 111)
    row = {h: ts.row(h, named=True) for h in range(4)}
    assert row[0]["heart_rate"] == 88.0
    assert row[0]["weight"] == pytest.approx(110 * 0.453592)
    assert row[1]["temperature"] == pytest.approx(38.0)
    assert row[2]["gcs_total"] == "14"
    assert row[2]["gcs_eye"] == "4 Spontaneously"
    assert row[3]["ph"] == pytest.approx(7.31)
    skips = json.loads((out / "dataset.json").read_text())["skips"]
    assert skips["timeseries"]["ignored_itemid_rows"] == 1


def test_noteevents_window_and_skips(built):
    _, out = built
    notes = pl.read_parquet(out / "notes.parquet")
    assert notes["note_id"].to_list() == ["1"]
    assert notes["text"].item() == "Pt resting comfortably"
    assert notes["note_type"].item() == "Nursing"
    skips = json.loads((out / "dataset.json").read_text())["skips"]["notes"]
    assert skips["no_charttime"] == 1  # the radiology note with only a CHARTDATE
    assert skips["marked_error"] == 1


def test_discharge_summary_opt_in(tmp_path, caplog):
    root = iii_root(tmp_path / "iii")
    with caplog.at_level(logging.WARNING):
        out = build_dataset(root, tmp_path / "ds", BuildConfig(version="iii", include_discharge_notes=True))
    notes = pl.read_parquet(out / "notes.parquet")
    assert sorted(notes["note_id"]) == ["1", "3"]
    assert notes.filter(pl.col("note_id") == "3")["note_type"].item() == "Discharge summary"
    assert any("leak" in r.message for r in caplog.records)
