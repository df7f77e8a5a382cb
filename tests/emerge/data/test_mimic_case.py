"""File, folder and column names in any case: the full MIMIC-III (upper-case files and headers), the
public MIMIC-III demo (upper-case files, lower-case headers: tests/fixtures/mimic_iii_lower) and
renamed copies (`icustays.csv.gz`, `HOSP/Patients.csv.gz`) all give the same dataset."""

from __future__ import annotations

import gzip
import json
import shutil

import numpy as np
import polars as pl
import pytest
from safetensors.numpy import load_file

from emerge.data.build import build_dataset
from emerge.data.config import BuildConfig
from foundation.errors import UserInputError
from tests.helpers.mimic import ICUSTAYS_IV, MIMIC_III_LOWER, iii_demo_root, iii_root, iv_root, write_table

OUTPUTS = ("cohort.parquet", "timeseries.parquet", "notes.parquet")


def _same_dataset(a, b) -> None:
    for name in OUTPUTS:
        assert pl.read_parquet(a / name).equals(pl.read_parquet(b / name)), name
    xa, xb = load_file(str(a / "features.safetensors")), load_file(str(b / "features.safetensors"))
    for key in ("x", "mask", "stay_id"):
        np.testing.assert_array_equal(xa[key], xb[key])
    ia, ib = (json.loads((d / "dataset.json").read_text()) for d in (a, b))
    assert (ia["counts"], ia["exclusions"], ia["skips"]) == (ib["counts"], ib["exclusions"], ib["skips"])


@pytest.fixture(scope="module")
def upper(tmp_path_factory):
    """The dataset of the MIMIC-III root with upper-case files and headers (the full release's layout)."""
    root = iii_root(tmp_path_factory.mktemp("iii_upper"))
    return build_dataset(root, tmp_path_factory.mktemp("out") / "ds", BuildConfig(version="iii"))


def test_the_committed_fixture_is_what_the_script_writes(tmp_path):
    fresh = iii_demo_root(tmp_path / "fresh")
    committed = sorted(p.name for p in MIMIC_III_LOWER.glob("*.csv"))
    assert committed == sorted(p.name for p in fresh.iterdir())
    for name in committed:
        assert (MIMIC_III_LOWER / name).read_bytes() == (fresh / name).read_bytes(), name
    header = (MIMIC_III_LOWER / "ICUSTAYS.csv").read_text().splitlines()[0]
    assert header.startswith("row_id,subject_id,hadm_id,icustay_id,dbsource,")  # the demo's header


def test_lower_case_headers_give_the_same_dataset_as_upper_case(upper, tmp_path):
    lower = build_dataset(MIMIC_III_LOWER, tmp_path / "ds", BuildConfig(version="iii"))
    _same_dataset(upper, lower)
    notes = pl.read_parquet(lower / "notes.parquet")
    assert notes["text"].to_list() == ["Pt resting comfortably"]  # a quoted note with a line break
    assert pl.read_parquet(lower / "cohort.parquet")["stay_id"].to_list() == [111, 211]


def test_file_names_in_any_case_as_csv_or_csv_gz(upper, tmp_path):
    root = tmp_path / "renamed"
    root.mkdir()
    names = {"PATIENTS": "Patients.csv", "ICUSTAYS": "icustays.csv.gz", "NOTEEVENTS": "noteevents.csv.gz"}
    for path in MIMIC_III_LOWER.glob("*.csv"):
        target = root / names.get(path.stem, path.name.lower())
        data = path.read_bytes()
        target.write_bytes(gzip.compress(data) if target.name.endswith(".gz") else data)
    _same_dataset(upper, build_dataset(root, tmp_path / "ds", BuildConfig(version="iii")))


def test_mimic_iv_folders_files_and_headers_in_any_case(tmp_path):
    reference = build_dataset(iv_root(tmp_path / "iv"), tmp_path / "ref", BuildConfig(version="iv"))
    root = iv_root(tmp_path / "odd")
    (root / "hosp").rename(root / "HOSP")
    (root / "HOSP/patients.csv.gz").rename(root / "HOSP/Patients.CSV.GZ")
    (root / "icu/icustays.csv.gz").unlink()
    upper_header = pl.DataFrame(ICUSTAYS_IV).rename(str.upper)
    write_table(root / "icu/ICUSTAYS.csv", upper_header)
    (root / "note").rename(root / "Note")
    out = build_dataset(root, tmp_path / "ds", BuildConfig(version="iv"))
    _same_dataset(reference, out)
    inputs = json.loads((out / "dataset.json").read_text())["inputs"]
    assert inputs["icustays"]["name"] == "ICUSTAYS.csv" and inputs["patients"]["name"] == "Patients.CSV.GZ"


@pytest.mark.parametrize(
    ("first", "second"),
    [("ICUSTAYS.csv", "icustays.csv"), ("ICUSTAYS.csv", "icustays.csv.gz"), ("ICUSTAYS.csv", "ICUSTAYS.CSV")],
)
def test_two_files_for_one_table_are_refused_naming_both(tmp_path, first, second):
    root = tmp_path / "iii"
    shutil.copytree(MIMIC_III_LOWER, root)
    (root / "ICUSTAYS.csv").rename(root / first)
    data = (root / first).read_bytes()
    (root / second).write_bytes(gzip.compress(data) if second.endswith(".gz") else data)
    with pytest.raises(UserInputError) as err:
        build_dataset(root, tmp_path / "ds", BuildConfig(version="iii"))
    message = str(err.value)
    assert str(root / first) in message and str(root / second) in message
    assert "ignoring case" in message and "keep one of them" in message
    assert not (tmp_path / "ds").exists()


def test_a_column_twice_in_two_cases_is_refused(tmp_path):
    root = tmp_path / "iii"
    shutil.copytree(MIMIC_III_LOWER, root)
    path = root / "ICUSTAYS.csv"
    path.write_text(path.read_text().replace(",los\n", ",ICUSTAY_ID\n", 1))
    with pytest.raises(
        UserInputError, match=r"`icustay_id`, `ICUSTAY_ID` appear more than once .*ignoring case"
    ):
        build_dataset(root, tmp_path / "ds", BuildConfig(version="iii"))


def test_a_missing_column_is_still_named(tmp_path):
    root = tmp_path / "iii"
    shutil.copytree(MIMIC_III_LOWER, root)
    path = root / "ICUSTAYS.csv"
    path.write_text(path.read_text().replace("icustay_id", "stay_id", 1))
    with pytest.raises(UserInputError, match=r"`ICUSTAY_ID` missing from .*ICUSTAYS.csv \(found: row_id"):
        build_dataset(root, tmp_path / "ds", BuildConfig(version="iii"))
