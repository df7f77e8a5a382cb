"""Integration: `emerge data build` on ~60 stays of the synthetic cohort (emerge.data.synth)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from emerge.data.build import build_dataset
from emerge.data.config import BuildConfig, LabelConfig
from emerge.data.dataset import EHRDataset

synth = pytest.importorskip("emerge.data.synth")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "mimic"
    synth.generate(root, stays=60, seed=0)
    # the generator's truth counts a death after discharge (patients.dod) as a readmission
    config = BuildConfig(version="iv", labels=LabelConfig(readmission_death="date_of_death"))
    return root, build_dataset(root, tmp_path_factory.mktemp("out") / "ds", config)


def test_cohort_and_labels_match_the_generator_truth(built):
    root, out = built
    truth = pl.read_parquet(root / "truth/stay_outcomes.parquet").filter(pl.col("included"))
    cohort = pl.read_parquet(out / "cohort.parquet")
    assert sorted(cohort["stay_id"]) == sorted(truth["stay_id"])
    joined = cohort.join(truth, on="stay_id", suffix="_truth")
    assert (joined["mortality_inhospital"] == joined["mortality_inhospital_truth"]).all()
    assert (joined["readmission_30d"] == joined["readmission_30d_truth"]).all()


def test_all_modalities_present(built):
    _, out = built
    ds = EHRDataset(out)
    info = json.loads((out / "dataset.json").read_text())
    assert info["skips"]["timeseries"]["missing_tables"] == 0
    for name in ("heart_rate", "systolic_bp", "gcs_total", "glucose"):
        assert ds.x_mask[:, :, ds.variables.index(name)].sum() > 0, name
    assert len(ds.notes) > 0
    assert set(ds.notes["stay_id"]) <= set(ds.stay_id.tolist())
    assert ((ds.notes["hours_from_intime"] >= 0) & (ds.notes["hours_from_intime"] <= 48)).all()
