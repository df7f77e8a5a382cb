"""The reader on the committed trim of the real MIMIC-IV demo (tests/fixtures/mimic_iv_demo)."""

from __future__ import annotations

import json
import logging

import numpy as np
import polars as pl
import pytest

from emerge.data.build import build_dataset
from emerge.data.config import BuildConfig, CohortRules
from emerge.data.dataset import EHRDataset
from tests.helpers.paths import MIMIC_IV_DEMO as FIXTURE_DEMO


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "ds"
    return build_dataset(FIXTURE_DEMO, out, BuildConfig(version="iv"))


def test_cohort_follows_the_rules(demo):
    cohort = pl.read_parquet(demo / "cohort.parquet")
    stays = pl.read_csv(FIXTURE_DEMO / "icu/icustays.csv.gz", try_parse_dates=True)
    assert 0 < cohort.height < stays.height
    assert cohort["stay_id"].n_unique() == cohort.height
    assert cohort["hadm_id"].n_unique() == cohort.height  # one ICU stay per admission
    per_hadm = stays.group_by("hadm_id").len()
    multi = per_hadm.filter(pl.col("len") > 1)["hadm_id"]
    assert not cohort["hadm_id"].is_in(multi.implode()).any()
    kept = stays.filter(pl.col("stay_id").is_in(cohort["stay_id"].implode()))
    assert (kept["first_careunit"] == kept["last_careunit"]).all()
    assert ((cohort["outtime"] - cohort["intime"]).dt.total_hours() >= 48).all()
    assert (cohort["age"] >= 18).all()
    info = json.loads((demo / "dataset.json").read_text())
    assert sum(info["exclusions"].values()) == stays.height - cohort.height


def test_mortality_agrees_with_hospital_expire_flag(demo):
    cohort = pl.read_parquet(demo / "cohort.parquet")
    admissions = pl.read_csv(FIXTURE_DEMO / "hosp/admissions.csv.gz")
    joined = cohort.join(admissions.select("hadm_id", "hospital_expire_flag"), on="hadm_id")
    assert joined.height == cohort.height
    assert (joined["mortality_inhospital"] == joined["hospital_expire_flag"]).all()
    assert joined["mortality_inhospital"].sum() > 0


def test_missing_chartevents_is_an_empty_modality(demo):
    ds = EHRDataset(demo)
    assert ds.x.shape == (len(ds), 48, 61)
    chart_only = [ds.variables.index(v) for v in ("heart_rate", "gcs_eye", "temperature")]
    assert ds.x_mask[:, :, chart_only].sum() == 0
    assert ds.x_mask[:, :, ds.variables.index("ph")].sum() > 0  # labs are in the demo
    assert len(ds.notes) == 0
    info = json.loads((demo / "dataset.json").read_text())
    assert info["skips"]["timeseries"]["missing_tables"] == 1


def test_dataset_splits_are_by_patient(demo):
    ds = EHRDataset(demo)
    subjects = {s: set(ds.cohort[ds.split(s)]["subject_id"]) for s in ("train", "val", "test")}
    assert not subjects["train"] & subjects["test"] and not subjects["train"] & subjects["val"]
    assert sum(len(ds.split(s)) for s in ("train", "val", "test")) == len(ds)
    data = ds.model_ready(["mortality", "readmission"])
    assert data.x.shape == (len(ds), 48, 61) and data.x_mask.shape == (len(ds), 48, 17)
    assert (data.split == ds.cohort["split"].to_numpy()).all() and data.tasks == ("mortality", "readmission")
    assert (data.labels("mortality").numpy() == ds.cohort["mortality_inhospital"].to_numpy()).all()


def test_train_features_are_standardized(demo):
    ds = EHRDataset(demo)
    ph = ds.feature_names.index("ph")
    stats = ds.normalizer().numeric["ph"]
    train_ph = ds.x[ds.split("train"), :, ph]
    raw = ds.timeseries()
    # Inverse of the z-score recovers the raw pH where it was observed.
    first = raw.filter(pl.col("ph_observed")).row(0, named=True)
    row = int(np.flatnonzero(ds.stay_id == first["stay_id"])[0])
    assert ds.x[row, first["hour"], ph] * stats.std + stats.mean == pytest.approx(first["ph"], abs=1e-4)
    assert abs(float(train_ph.mean())) < 1.5


def test_rerun_skips_and_changed_setting_rebuilds(demo, tmp_path, caplog):
    before = (demo / "features.safetensors").stat().st_mtime_ns
    with caplog.at_level(logging.INFO):
        build_dataset(FIXTURE_DEMO, demo, BuildConfig(version="iv"))
    assert any("up to date" in r.message for r in caplog.records)
    assert (demo / "features.safetensors").stat().st_mtime_ns == before
    key = json.loads((demo / "dataset.json").read_text())["key"]
    other = build_dataset(
        FIXTURE_DEMO, tmp_path / "other", BuildConfig(version="iv", cohort=CohortRules(min_icu_hours=24))
    )
    info = json.loads((other / "dataset.json").read_text())
    assert info["key"] != key
    assert info["counts"]["stays"] > json.loads((demo / "dataset.json").read_text())["counts"]["stays"]


def test_normalizer_reused_on_another_dataset(demo, tmp_path):
    config = BuildConfig(
        version="iv", cohort=CohortRules(min_icu_hours=24), normalizer_path=demo / "normalizer.json"
    )
    other = build_dataset(FIXTURE_DEMO, tmp_path / "reuse", config)
    assert (other / "normalizer.json").read_text() == (demo / "normalizer.json").read_text()
