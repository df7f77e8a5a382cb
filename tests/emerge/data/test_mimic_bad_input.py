"""Bad input: every case is a clear UserInputError naming file, column and fix, or a counted skip."""

from __future__ import annotations

import gzip
import json
import logging
import random
import string
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from click.testing import CliRunner

import emerge.data.build as build_module
import emerge.data.sources as sources_module
from emerge.cli import cli, main
from emerge.data.build import build_dataset
from emerge.data.cohort import load_tables
from emerge.data.config import BuildConfig, CohortRules
from emerge.data.sources import Sources
from foundation.errors import UserInputError
from tests.helpers.mimic import (
    ADMISSIONS_IV,
    CHARTEVENTS_IV,
    DISCHARGE_IV,
    ICUSTAYS_IV,
    LABEVENTS_IV,
    PATIENTS_IV,
    RADIOLOGY_IV,
    iii_root,
    iv_root,
    iv_root_with_bad_chartevent,
    write_table,
)


def _build(root, tmp_path, **kwargs):
    return build_dataset(root, tmp_path / "ds", BuildConfig(version="iv", **kwargs))


def _refused(root, tmp_path, via: str, capsys) -> str:
    """The message of the build's error on `root`, via the Python API or the CLI (exit 2, no traceback)."""
    if via == "api":
        with pytest.raises(UserInputError) as err:
            _build(root, tmp_path)
        return str(err.value)
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "build", "--root", str(root), "--version", "iv", "--out", str(tmp_path / "ds")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    return err


TABLE_ROWS = {
    "hosp/patients.csv.gz": PATIENTS_IV,
    "hosp/admissions.csv.gz": ADMISSIONS_IV,
    "icu/icustays.csv.gz": ICUSTAYS_IV,
    "icu/chartevents.csv.gz": CHARTEVENTS_IV,
    "hosp/labevents.csv.gz": LABEVENTS_IV,
    "note/radiology.csv.gz": RADIOLOGY_IV,
}
TEXT_COLUMN = {
    "icu/icustays.csv.gz": "first_careunit",
    "icu/chartevents.csv.gz": "value",
    "note/radiology.csv.gz": "text",
}


def _repeat_rows(root: Path, table: str, *indices: int) -> None:
    rows = [dict(r) for r in TABLE_ROWS[table]]
    write_table(root / table, rows + [dict(rows[i]) for i in indices])


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def _large_csv(table: str, last: str = "") -> str:
    """The CSV text of `table` with 3,000 more rows of random text (~60 kB gzipped: damage in its second
    half lies past what the header read decompresses) and `last` at the end of the last row's text."""
    rng, column = random.Random(0), TEXT_COLUMN[table]
    rows = [dict(r) for r in TABLE_ROWS[table]]
    rows += [{**rows[-1], column: "".join(rng.choices(string.ascii_letters, k=16))} for _ in range(3000)]
    rows[-1][column] += last
    return pl.DataFrame(
        [{k: (None if v is None else str(v)) for k, v in r.items()} for r in rows]
    ).write_csv()


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
    write_table(
        root / "hosp/admissions.csv.gz",
        [],
        columns=["subject_id", "hadm_id", "admittime", "dischtime", "deathtime", "hospital_expire_flag"],
    )
    with pytest.raises(UserInputError, match="no rows"):
        _build(root, tmp_path)


@pytest.mark.parametrize("table", ["hosp/patients.csv.gz", "icu/icustays.csv.gz"])
def test_empty_required_tables_name_the_file(tmp_path, table):
    root = iv_root(tmp_path / "iv")
    write_table(root / table, [], columns=list(TABLE_ROWS[table][0]))
    with pytest.raises(UserInputError, match=rf"{table}.*has a header but no rows"):
        _build(root, tmp_path)


def test_empty_event_table_and_stays_without_events_are_counted(tmp_path, caplog):
    root = iv_root(tmp_path / "iv")
    write_table(root / "icu/chartevents.csv.gz", [], columns=list(CHARTEVENTS_IV[0]))
    with caplog.at_level(logging.WARNING):
        out = _build(root, tmp_path)
    skips = json.loads((out / "dataset.json").read_text())["skips"]["timeseries"]
    assert skips["stays_without_events"] == 2  # 121 and 211 only had chart events; 111 keeps its lab pH
    assert any("chartevents.csv.gz has no rows" in r.message for r in caplog.records)


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
        "dataset.json",
        "results.csv",
        "src",
        "src/train.py",
    ]
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
    result = CliRunner().invoke(
        cli, ["data", "build", "--root", str(root), "--version", "iv", "--out", str(tmp_path / "ds")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ds" / "features.safetensors").is_file()
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "build", "--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    assert "not a directory" in capsys.readouterr().err


# --- repeated rows ----------------------------------------------------------------------------------


def test_exact_duplicate_rows_are_dropped_counted_and_change_nothing(tmp_path, caplog):
    clean = build_dataset(iv_root(tmp_path / "clean"), tmp_path / "clean_ds", BuildConfig(version="iv"))
    root = iv_root(tmp_path / "iv")
    for table, indices in {
        "hosp/patients.csv.gz": [0],
        "hosp/admissions.csv.gz": [0],
        "icu/icustays.csv.gz": [0],  # stay 111: must not become "two stays of admission 11"
        "icu/chartevents.csv.gz": [0, 8],  # a heart rate and GCS eye (total stays 15)
        "hosp/labevents.csv.gz": [0],
        "note/radiology.csv.gz": [0, 0],
    }.items():
        _repeat_rows(root, table, *indices)
    with caplog.at_level(logging.WARNING):
        out = _build(root, tmp_path)
    info = json.loads((out / "dataset.json").read_text())
    assert (
        info["exclusions"]["duplicate_stay_id"] == 1
        and info["exclusions"]["multiple_stays_in_admission"] == 0
    )
    assert sum(info["exclusions"].values()) == len(ICUSTAYS_IV) + 1 - info["counts"]["stays"]
    assert info["skips"]["timeseries"]["duplicate_rows"] == {"chartevents": 2, "labevents": 1}
    assert info["skips"]["notes"]["duplicate_rows"] == {"radiology": 2, "discharge": 0}
    before = json.loads((clean / "dataset.json").read_text())
    assert (
        info["skips"]["timeseries"]["out_of_valid_range"]
        == before["skips"]["timeseries"]["out_of_valid_range"]
    )
    for name in ("cohort.parquet", "timeseries.parquet", "notes.parquet"):
        assert pl.read_parquet(out / name).equals(pl.read_parquet(clean / name)), name
    assert load_tables(Sources(root, "iv")).duplicate_rows == {"patients": 1, "admissions": 1, "icustays": 1}
    assert any("patients.csv.gz: 1 exactly repeated rows dropped" in r.message for r in caplog.records)


def test_a_repeated_discharge_summary_is_counted_once(tmp_path):
    """With include_discharge_notes, a summary charted inside the window is reached twice (window and
    admission): that is one row, not a repeat. Repeating its row in the file is one."""
    root = iv_root(tmp_path / "iv")
    inside = {**DISCHARGE_IV[0], "note_id": "1-DS-0", "charttime": "2150-01-02 09:00:00"}
    write_table(root / "note/discharge.csv.gz", [*DISCHARGE_IV, inside])
    out = _build(root, tmp_path, include_discharge_notes=True)
    assert (
        json.loads((out / "dataset.json").read_text())["skips"]["notes"]["duplicate_rows"]["discharge"] == 0
    )
    notes = pl.read_parquet(out / "notes.parquet")
    assert notes.filter(pl.col("note_id") == "1-DS-0").height == 1
    write_table(root / "note/discharge.csv.gz", [*DISCHARGE_IV, inside, inside])
    out = _build(root, tmp_path, include_discharge_notes=True)
    assert (
        json.loads((out / "dataset.json").read_text())["skips"]["notes"]["duplicate_rows"]["discharge"] == 1
    )
    assert pl.read_parquet(out / "notes.parquet").equals(notes)


def test_mimic_iii_rows_repeated_but_for_row_id_are_duplicates(tmp_path):
    root = iii_root(tmp_path / "iii")
    stays = pl.read_csv(root / "ICUSTAYS.csv", infer_schema=False)
    write_table(root / "ICUSTAYS.csv", stays.vstack(stays.head(1).with_columns(ROW_ID=pl.lit("99"))))
    out = build_dataset(root, tmp_path / "ds", BuildConfig(version="iii"))
    assert pl.read_parquet(out / "cohort.parquet")["stay_id"].to_list() == [111, 211]
    assert json.loads((out / "dataset.json").read_text())["exclusions"]["duplicate_stay_id"] == 1


@pytest.mark.parametrize(
    ("table", "key", "column", "value"),
    [
        ("hosp/patients.csv.gz", "subject_id", "gender", "F"),
        ("hosp/admissions.csv.gz", "hadm_id", "dischtime", "2150-01-11 12:00:00"),
        ("icu/icustays.csv.gz", "stay_id", "outtime", "2150-01-06 10:00:00"),
    ],
)
@pytest.mark.parametrize("via", ["api", "cli"])
def test_conflicting_rows_of_one_key_name_file_key_and_fix(tmp_path, capsys, table, key, column, value, via):
    root = iv_root(tmp_path / "iv")
    rows = [dict(r) for r in TABLE_ROWS[table]]
    write_table(root / table, rows + [{**rows[0], column: value}])
    message = _refused(root, tmp_path, via, capsys)
    assert f"{table} has different rows for the same {key}" in message
    assert f"{key} {rows[0][key]} differ in {column}" in message and "Keep one row per" in message


def test_a_stay_without_stay_id_is_skipped_and_counted(tmp_path):
    root = iv_root(tmp_path / "iv")
    write_table(root / "icu/icustays.csv.gz", [{**ICUSTAYS_IV[0], "stay_id": None}, *ICUSTAYS_IV[1:]])
    out = _build(root, tmp_path)
    assert pl.read_parquet(out / "cohort.parquet")["stay_id"].to_list() == [121, 211]
    assert json.loads((out / "dataset.json").read_text())["exclusions"]["no_stay_id"] == 1


# --- files that are not where or what they should be ---------------------------------------------


@pytest.mark.parametrize("table", ["icu/icustays.csv.gz", "icu/chartevents.csv.gz"])
@pytest.mark.parametrize("via", ["api", "cli"])
def test_a_folder_where_a_table_belongs(tmp_path, capsys, table, via):
    root = iv_root(tmp_path / "iv")
    (root / table).unlink()
    (root / table / "part-0.csv").mkdir(parents=True)
    message = _refused(root, tmp_path, via, capsys)
    assert f"{table} is a folder" in message and "replace it with the table's file" in message


@pytest.mark.parametrize("via", ["api", "cli"])
def test_both_csv_and_csv_gz(tmp_path, capsys, via):
    root = iv_root(tmp_path / "iv")
    write_table(root / "icu/chartevents.csv", CHARTEVENTS_IV)
    message = _refused(root, tmp_path, via, capsys)
    assert (
        "chartevents.csv.gz and " in message and "chartevents.csv exist" in message and "keep one" in message
    )


def test_a_repeated_column_and_a_byte_order_mark(tmp_path):
    root = iv_root(tmp_path / "iv")
    path = root / "icu/icustays.csv.gz"
    _write_bytes(path, b"\xef\xbb\xbf" + gzip.decompress(path.read_bytes()))  # BOM: read as usual
    assert pl.read_parquet(_build(root, tmp_path) / "cohort.parquet").height == 3
    _write_bytes(path, pl.DataFrame(ICUSTAYS_IV).write_csv().replace(",los\n", ",stay_id\n", 1).encode())
    with pytest.raises(UserInputError, match=r"`stay_id` appears more than once in the header of .*icustays"):
        _build(root, tmp_path)


# --- damaged files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["api", "cli"])
def test_a_row_with_more_fields_than_the_header(tmp_path, capsys, via):
    root = iv_root(tmp_path / "iv")
    text = pl.DataFrame(PATIENTS_IV).drop("anchor_year_group").write_csv()  # every column is read
    _write_bytes(root / "hosp/patients.csv.gz", text.replace("\n2,F,", "\n2,F,,", 1).encode())
    message = _refused(root, tmp_path, via, capsys)
    assert "patients.csv.gz has a row with more fields than its header" in message


def test_a_gzipped_file_named_csv(tmp_path):
    root = iv_root(tmp_path / "iv", suffix=".csv")
    path = root / "icu/icustays.csv"
    path.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(UserInputError, match=r"icustays\.csv is gzip-compressed but named \.csv; rename it"):
        _build(root, tmp_path)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("table", "large"),
    [
        ("icu/icustays.csv.gz", False),  # found by the header read
        ("icu/icustays.csv.gz", True),  # found by the collect of the cohort tables
        ("icu/chartevents.csv.gz", True),  # ... by the streaming pass over an event table
        ("note/radiology.csv.gz", True),  # ... by the notes' collect
    ],
)
@pytest.mark.parametrize("via", ["api", "cli"])
def test_truncated_gzip_names_the_file(tmp_path, capsys, table, large, via):
    root = iv_root(tmp_path / "iv")
    if large:
        _write_bytes(root / table, _large_csv(table).encode())
    _truncate(root / table)
    message = _refused(root, tmp_path, via, capsys)
    assert f"{table} is truncated or not a valid" in message and "download or extract it again" in message
    assert ("unexpected end of file" in message) == large  # polars' error in the full scan, named by us


@pytest.mark.parametrize(
    ("table", "large"),
    [
        ("icu/icustays.csv.gz", False),
        ("icu/icustays.csv.gz", True),
        ("icu/chartevents.csv.gz", True),
        ("note/radiology.csv.gz", True),
    ],
)
@pytest.mark.parametrize("via", ["api", "cli"])
def test_latin1_text_names_the_file(tmp_path, capsys, table, large, via):
    root = iv_root(tmp_path / "iv")
    text = (
        _large_csv(table, last="caf\u00e9")
        if large
        else pl.DataFrame(TABLE_ROWS[table]).write_csv().replace("MICU", "M\u00e9CU", 1)
    )
    _write_bytes(root / table, text.encode("latin-1"))
    message = _refused(root, tmp_path, via, capsys)
    assert f"{table} is not UTF-8 text" in message and "iconv" in message
    assert ("invalid utf-8 sequence" in message) == large  # polars' error in the full scan, named by us


def _deny(path: Path | None):
    """A stand-in for a read of `path` that the OS refuses (path None: polars' error, which names no file)."""

    def raise_permission_error(*args, **kwargs):
        raise (
            PermissionError(13, "Permission denied", str(path))
            if path
            else PermissionError("Permission denied (os error 13)")
        )

    return raise_permission_error


@pytest.mark.parametrize("where", ["header", "collect", "stream"])
@pytest.mark.parametrize("via", ["api", "cli"])
def test_unreadable_file_names_the_file(tmp_path, capsys, monkeypatch, where, via):
    """We run as root, which chmod 000 does not stop: the read fails the way it does for a user
    without access."""
    root = iv_root(tmp_path / "iv")
    if where == "header":  # the header read of chartevents
        real = gzip.open
        denied = root / "icu/chartevents.csv.gz"
        monkeypatch.setattr(
            sources_module,
            "gzip",
            SimpleNamespace(
                open=lambda path, *a, **k: _deny(denied)() if Path(path) == denied else real(path, *a, **k)
            ),
        )
        expected = ["permission denied for", "chartevents.csv.gz"]
    elif (
        where == "collect"
    ):  # the first collect: patients (polars raises PermissionError without a file name)
        monkeypatch.setattr(pl, "collect_all", _deny(None))
        expected = ["permission denied while reading", "patients.csv.gz", "chmod"]
    else:
        monkeypatch.setattr(pl.LazyFrame, "collect_batches", _deny(None))
        expected = ["permission denied while reading", "chartevents.csv.gz", "chmod"]
    message = _refused(root, tmp_path, via, capsys)
    assert all(e in message for e in expected), message
