"""drehr.data.notes and drehr.data.files: notes tables in, resumable JSONL out, no application layer
involved (the LLM is a plain function). The `retriever build-*` commands over them are tested with the
other command-line tests (test_retriever_data_cli.py)."""

from __future__ import annotations

import json

import polars as pl
import pytest

from drehr.data import build_qa_file, build_stage1_file, build_stage2_file, note_chunks, read_notes
from foundation.errors import UserInputError
from tests.helpers.kg import notes_kg
from tests.helpers.notes import NOTES, write_notes_csv_gz


@pytest.fixture
def notes_csv_gz(tmp_path):
    return write_notes_csv_gz(tmp_path / "discharge.csv.gz")


@pytest.fixture
def graph():
    return notes_kg()


def _ids(path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_read_notes_picks_patient_column_and_dedupes(tmp_path, notes_csv_gz):
    frame = read_notes(notes_csv_gz)
    assert frame.columns == ["note_id", "patient_id", "text"]
    assert frame["patient_id"].to_list() == ["1", "2", "2"]  # subject_id before hadm_id
    doubled = tmp_path / "notes.parquet"
    pl.concat([pl.DataFrame(NOTES)] * 2).rename({"subject_id": "patient_id"}).write_parquet(doubled)
    assert read_notes(doubled)["note_id"].to_list() == ["n1", "n2", "n3"]
    assert read_notes(doubled, patient_column="hadm_id")["patient_id"].to_list() == ["11", "22", "22"]
    with pytest.raises(UserInputError, match="lacks column"):
        pl.DataFrame({"note_id": ["a"], "text": ["b"]}).write_parquet(tmp_path / "bad.parquet")
        read_notes(tmp_path / "bad.parquet")


def test_read_notes_names_a_missing_file_and_an_unknown_format(tmp_path):
    with pytest.raises(UserInputError, match="not found"):
        read_notes(tmp_path / "missing.csv")
    (tmp_path / "notes.txt").write_text("note_id,text\n")
    with pytest.raises(UserInputError, match=r"unknown format; expected \.parquet"):
        read_notes(tmp_path / "notes.txt")


def test_note_chunks_skip_short_notes(notes_csv_gz):
    chunks = list(note_chunks(read_notes(notes_csv_gz)))
    assert [c.chunk_id for c in chunks] == ["n1_0", "n1_1", "n2_0", "n2_1"]  # n3 is under 50 words
    assert {c.patient_id for c in chunks} == {"1", "2"}


def test_build_stage1_file_writes_labelled_examples_and_resumes(tmp_path, notes_csv_gz, graph):
    notes, out = read_notes(notes_csv_gz), tmp_path / "stage1.jsonl"
    counts = build_stage1_file(notes, graph, out, limit=1)
    assert (counts["chunks"], counts["written"]) == (1, 1) and _ids(out) == ["n1_0"]
    counts = build_stage1_file(notes, graph, out)
    assert (counts["chunks"], counts["skipped"], counts["processed"]) == (4, 1, 3)
    assert _ids(out) == ["n1_0", "n2_0"]  # n1_1 and n2_1 name no KG term
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(len(r["labels"]) == len(r["positives"]) for r in rows)
    with pytest.raises(UserInputError, match="--min-words"):
        build_stage1_file(notes, graph, tmp_path / "none.jsonl", min_words=1000)


def test_stage2_and_qa_files_take_any_text_function(tmp_path, notes_csv_gz):
    prompts_seen: list[str] = []

    def generate(prompts: list[str]) -> list[str]:  # a plain callable: no LLM package, no model
        prompts_seen.extend(prompts)
        return ["- Hypokalemia\n- NA" for _ in prompts]

    notes = read_notes(notes_csv_gz)
    counts = build_stage2_file(notes, generate, tmp_path / "s2.jsonl", limit=2, batch_size=1)
    assert counts == {"chunks": 2, "written": 2, "skipped": 0, "empty": 0} and len(prompts_seen) == 2 * 3
    assert _ids(tmp_path / "s2.jsonl") == ["n1_0", "n1_1"]
    counts = build_qa_file(
        notes, lambda prompts: ["Why was potassium low?" for _ in prompts], tmp_path / "qa.jsonl"
    )
    assert counts["notes"] == 3 and counts["written"] == counts["sections"] > 0
