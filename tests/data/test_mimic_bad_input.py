"""Bad input: every case is a clear UserInputError naming file, column and fix, or a counted skip."""

from __future__ import annotations

import json

import polars as pl
import pytest
from click.testing import CliRunner
from mimic_tables import (
    CHARTEVENTS_IV,
    ICUSTAYS_IV,
    iii_root,
    iv_root,
    iv_root_with_bad_chartevent,
    write_table,
)

import emerge.data.build as build_module
from emerge.cli import cli, main
from emerge.data.build import build_dataset
from emerge.data.config import BuildConfig, CohortRules
from foundation.errors import UserInputError


def _build(root, tmp_path, **kwargs):
    return build_dataset(root, tmp_path / "ds", BuildConfig(version="iv", **kwargs))


def test_missing_required_file(tmp_path):
    root = iv_root(tmp_path / "iv")
    (root / "icu/icustays.csv.gz").unlink()
    with pytest.raises(UserInputError, match=r"icustays.*not found.*--root"):
        _build(root, tmp_path)


def test_wrong_version_is_named(tmp_path):
    root = iii_root(tmp_path / "iii")
    with pytest.raises(UserInputError, match="Use --version iii"):
        _build(root, tmp_path)


def test_missing_column_names_file_column_and_found(tmp_path):
    root = iv_root(tmp_path / "iv")
    write_table(root / "icu/icustays.csv.gz", pl.DataFrame(ICUSTAYS_IV).drop("outtime"))
    with pytest.raises(UserInputError) as err:
        _build(root, tmp_path)
    message = str(err.value)
    assert "`outtime`" in message and "icustays.csv.gz" in message and "found: subject_id" in message


def test_wrong_type_in_event_table(tmp_path):
    root = iv_root_with_bad_chartevent(tmp_path / "iv", 3, "stay_id", "abc")
    with pytest.raises(UserInputError, match=r"chartevents\.csv\.gz.*abc.*stay_id"):
        _build(root, tmp_path)


def test_bad_timestamp(tmp_path):
    root = iv_root(tmp_path / "iv")
    rows = [dict(r) for r in ICUSTAYS_IV]
    rows[1]["intime"] = "yesterday"
    write_table(root / "icu/icustays.csv.gz", rows)
    with pytest.raises(UserInputError, match=r"icustays\.csv\.gz.*intime"):
        _build(root, tmp_path)


def test_empty_required_table(tmp_path):
    root = iv_root(tmp_path / "iv")
    write_table(root / "hosp/admissions.csv.gz", [], columns=["subject_id", "hadm_id", "admittime", "dischtime",
                                                               "deathtime", "hospital_expire_flag"])
    with pytest.raises(UserInputError, match="no rows"):
        _build(root, tmp_path)


def test_empty_event_table_and_stays_without_events_are_counted(tmp_path):
    root = iv_root(tmp_path / "iv")
    write_table(root / "icu/chartevents.csv.gz", [], columns=list(CHARTEVENTS_IV[0]))
    out = _build(root, tmp_path)
    skips = json.loads((out / "dataset.json").read_text())["skips"]["timeseries"]
    assert skips["stays_without_events"] == 2  # 121 and 211 only had chart events; 111 keeps its lab pH


def test_outtime_before_intime_is_skipped_and_counted(tmp_path):
    root = iv_root(tmp_path / "iv")
    rows = [dict(r) for r in ICUSTAYS_IV]
    rows[1]["outtime"] = "2150-01-19 00:00:00"  # before its intime
    write_table(root / "icu/icustays.csv.gz", rows)
    out = _build(root, tmp_path)
    info = json.loads((out / "dataset.json").read_text())
    assert info["exclusions"]["impossible_times"] == 1
    assert 121 not in pl.read_parquet(out / "cohort.parquet")["stay_id"].to_list()


def test_no_stay_passes_the_rules(tmp_path):
    root = iv_root(tmp_path / "iv")
    with pytest.raises(UserInputError, match="no ICU stay.*min_icu_hours"):
        _build(root, tmp_path, cohort=CohortRules(min_icu_hours=1000))


def test_out_must_be_a_dataset_folder(tmp_path):
    root = iv_root(tmp_path / "iv")
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "precious.txt").write_text("x")
    with pytest.raises(UserInputError, match="not empty and was not written by emerge"):
        _build(root, tmp_path)
    assert (tmp_path / "ds" / "precious.txt").read_text() == "x"


def test_a_users_folder_with_a_dataset_json_is_never_replaced(tmp_path):
    """Regression: a folder holding a file named dataset.json (plus the user's own files) was replaced."""
    root = iv_root(tmp_path / "iv")
    user = tmp_path / "ds"
    (user / "src").mkdir(parents=True)
    (user / "dataset.json").write_text(json.dumps({"kind": "ehr_dataset", "format_version": 1, "key": "x"}))
    (user / "src" / "train.py").write_text("print('mine')\n")
    (user / "results.csv").write_text("auroc\n0.8\n")
    result = CliRunner().invoke(cli, ["data", "build", "--root", str(root), "--out", str(user)])
    assert result.exit_code != 0
    assert isinstance(result.exception, UserInputError) and "refusing to replace" in str(result.exception)
    assert sorted(p.relative_to(user).as_posix() for p in user.rglob("*")) == [
        "dataset.json", "results.csv", "src", "src/train.py"]
    assert (user / "src" / "train.py").read_text() == "print('mine')\n"


def test_a_damaged_dataset_is_rebuilt_and_named_when_read(tmp_path):
    from emerge.data.dataset import EHRDataset
    from foundation.errors import ArtifactError

    root = iv_root(tmp_path / "iv")
    out = _build(root, tmp_path)
    cohort = out / "cohort.parquet"
    cohort.write_bytes(cohort.read_bytes()[:100])
    with pytest.raises(ArtifactError, match=r"cohort.parquet has \d+ bytes"):
        EHRDataset(out)
    _build(root, tmp_path)  # same key, damaged output: rebuilt
    assert len(EHRDataset(out)) > 0


def test_killed_build_leaves_previous_output_intact(tmp_path, monkeypatch):
    root = iv_root(tmp_path / "iv")
    out = _build(root, tmp_path)
    before = (out / "dataset.json").read_text()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "extract_notes", boom)
    with pytest.raises(KeyboardInterrupt):
        _build(root, tmp_path, window_hours=24)
    assert (out / "dataset.json").read_text() == before
    assert not list(tmp_path.glob(".ds.building-*"))


def test_cli_builds_and_reports_errors(tmp_path, capsys):
    root = iv_root(tmp_path / "iv")
    result = CliRunner().invoke(cli, ["data", "build", "--root", str(root), "--version", "iv",
                                      "--out", str(tmp_path / "ds")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ds" / "features.safetensors").is_file()
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "build", "--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    assert "not a directory" in capsys.readouterr().err
