"""Where the notes are: MIMIC-IV-Note beside MIMIC-IV as PhysioNet lays them out, `--note-root`, and the
cohort rule `require_notes` (a build that needs notes stops before any work when there are none)."""

from __future__ import annotations

import json
import logging
import shutil

import polars as pl
import pytest
from click.testing import CliRunner

from emerge.cli import cli
from emerge.data.build import build_dataset
from emerge.data.config import BuildConfig, CohortRules
from emerge.data.layout import note_module_candidates
from emerge.data.sources import Sources
from foundation.errors import UserInputError
from tests.helpers.mimic import MIMIC_III_LOWER, iv_root, physionet_layout

REQUIRE = BuildConfig(version="iv", cohort=CohortRules(require_notes=True))


@pytest.fixture
def src(tmp_path):
    """A MIMIC-IV root without note/ (as PhysioNet's mimiciv project ships it)."""
    return iv_root(tmp_path / "src", notes=False)


def _info(out) -> dict:
    return json.loads((out / "dataset.json").read_text())


@pytest.mark.parametrize("version", ["2.2", "3.1"])
def test_notes_beside_a_physionet_root_are_found_and_logged(tmp_path, src, caplog, version):
    root = physionet_layout(tmp_path / "dl", src, version=version, note_version="2.2")
    note = tmp_path / "dl/physionet.org/files/mimic-iv-note/2.2/note"
    with caplog.at_level(logging.INFO, logger="emerge.data"):
        out = build_dataset(root, tmp_path / "ds", REQUIRE)
    info = _info(out)
    assert info["notes_from"]["folder"] == str(note) and info["notes_from"]["origin"] == "found beside --root"
    assert info["counts"]["notes"] == info["counts"]["stays"] == 3 and info["exclusions"]["no_notes"] == 0
    logged = [r.getMessage() for r in caplog.records]
    assert any(f"read from {note} (found beside --root)" in m for m in logged)
    assert any(m.startswith("notes: 3 notes for 3 of 3 stays, from " + str(note)) for m in logged)


def test_the_candidates_prefer_the_same_version_then_the_newest(tmp_path):
    files = tmp_path / "physionet.org/files"
    root = files / "mimiciv" / "3.1"
    for version in ("2.2", "2.10", "3.1"):
        (files / "mimic-iv-note" / version / "note").mkdir(parents=True)
    (files / "mimic-iv-note" / "README").mkdir()  # not a version: ignored
    assert note_module_candidates(root) == [
        files / "mimic-iv-note" / v / "note" for v in ("3.1", "2.10", "2.2")
    ]
    zipped = tmp_path / "zips"
    (zipped / "mimic-iv-2.2").mkdir(parents=True)
    (zipped / "mimic-iv-note-deidentified-free-text-clinical-notes-2.2" / "NOTE").mkdir(parents=True)
    assert note_module_candidates(zipped / "mimic-iv-2.2") == [
        zipped / "mimic-iv-note-deidentified-free-text-clinical-notes-2.2" / "NOTE"
    ]


def test_note_root_option_takes_the_note_folder_or_the_one_above(tmp_path, src):
    physionet_layout(tmp_path / "dl", src)
    module = tmp_path / "dl/physionet.org/files/mimic-iv-note/2.2"
    for given in (module / "note", module):
        out = build_dataset(src, tmp_path / f"ds_{given.name}", REQUIRE, note_root=given)
        assert _info(out)["notes_from"] | {"searched": None} == {
            "folder": str(module / "note"),
            "origin": "--note-root",
            "searched": None,
        }
        assert _info(out)["counts"]["notes"] == 3
    result = CliRunner().invoke(
        cli,
        ["data", "build", "--root", str(src), "--note-root", str(module), "--out", str(tmp_path / "cli")],
    )
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(tmp_path / "cli" / "notes.parquet").height == 3


def test_a_note_root_without_notes_is_refused(tmp_path, src):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        UserInputError, match=r"--note-root .*empty holds no note table: looked for .*radiology"
    ):
        build_dataset(src, tmp_path / "ds", BuildConfig(version="iv"), note_root=empty)
    with pytest.raises(UserInputError, match=r"--note-root .*nowhere is not a directory"):
        Sources(src, "iv", tmp_path / "nowhere")
    assert not (tmp_path / "ds").exists()


def test_require_notes_without_any_note_table_stops_before_any_work(tmp_path, src, caplog):
    root = physionet_layout(tmp_path / "dl", src, notes=False)  # the note module's folder, empty
    with pytest.raises(UserInputError) as err:
        build_dataset(root, tmp_path / "ds", REQUIRE)
    message = str(err.value)
    assert message.startswith("cohort.require_notes is on")
    assert str(root / "note/radiology.csv.gz") in message
    assert str(tmp_path / "dl/physionet.org/files/mimic-iv-note/2.2/note/discharge.csv.gz") in message
    assert "--note-root" in message and not (tmp_path / "ds").exists()
    # without the rule: built, with a warning naming where notes were looked for
    with caplog.at_level(logging.WARNING):
        out = build_dataset(root, tmp_path / "ds", BuildConfig(version="iv"))
    assert _info(out)["counts"]["notes"] == 0 and _info(out)["notes_from"]["folder"] is None
    assert any("no radiology notes: looked for" in r.getMessage() for r in caplog.records)


def test_require_notes_drops_and_counts_the_stays_without_a_note(tmp_path):
    root = iv_root(tmp_path / "iv")  # stay 111 has a note in its window; 121 none; 211 one before intime
    out = build_dataset(root, tmp_path / "ds", REQUIRE)
    cohort = pl.read_parquet(out / "cohort.parquet")
    assert cohort["stay_id"].to_list() == [111]
    info = _info(out)
    assert info["exclusions"]["no_notes"] == 2 and info["notes_from"]["origin"] == "under --root"
    assert sum(info["exclusions"].values()) == 4 - 1  # every icustays row is kept or counted once
    assert (
        "no_notes"
        not in _info(build_dataset(root, tmp_path / "all", BuildConfig(version="iv")))["exclusions"]
    )


def test_mimic_iii_noteevents_from_a_note_root(tmp_path):
    root = tmp_path / "iii"
    shutil.copytree(MIMIC_III_LOWER, root)
    elsewhere = tmp_path / "notes"
    elsewhere.mkdir()
    (root / "NOTEEVENTS.csv").rename(elsewhere / "NOTEEVENTS.csv")
    config = BuildConfig(version="iii", cohort=CohortRules(require_notes=True))
    with pytest.raises(UserInputError, match=r"no note table was found: looked for .*iii/NOTEEVENTS.csv.gz"):
        build_dataset(root, tmp_path / "ds", config)
    out = build_dataset(root, tmp_path / "ds", config, note_root=elsewhere)
    assert pl.read_parquet(out / "notes.parquet")["note_id"].to_list() == ["1"]
    assert _info(out)["exclusions"]["no_notes"] == 1  # stay 211 has no note
