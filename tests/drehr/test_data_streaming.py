"""Notes files streamed in batches (drehr.data.notes.scan_notes / iter_notes): the builders see the same
notes, chunks and examples, in the same order, as from a table read whole."""

from __future__ import annotations

import json

import polars as pl
import pytest

from drehr.chunking import chunk_notes
from drehr.data import (
    NotesFile,
    Stage1Config,
    build_stage1_examples,
    build_stage1_file,
    iter_notes,
    note_chunks,
    read_notes,
    scan_notes,
)
from foundation.errors import UserInputError
from kg.matching import TermMatcher
from tests.helpers.kg import notes_kg
from tests.helpers.notes import FILLER

TERMS = ["HTN", "hypokalemia", "chronic kidney disease", "low potassium", "CKD", "high blood pressure"]


def many_notes(n: int = 23) -> pl.DataFrame:
    """`n` distinct notes of 60-330 words (1-4 chunks each; one too short), KG terms spread through them;
    one note id repeated with another text (kept once, the first), one note without text."""
    rows = []
    for i in range(n):
        words = [FILLER[(i + j) % len(FILLER)] for j in range(60 + (i * 37) % 270)]
        for k in range(0, len(words), 30):  # no two chunks alike
            words[k] = f"visit{i}w{k}"
        for j in range(i % 4):
            words[(j * 41 + i) % len(words)] = TERMS[(i + j) % len(TERMS)]
        rows.append({"note_id": f"n{i:02d}", "patient_id": f"p{i // 3}", "text": " ".join(words)})
    rows[5]["text"] = "too short"
    rows.append({"note_id": "n03", "patient_id": "p1", "text": "a later copy of n03 with another text"})
    rows.append({"note_id": "n99", "patient_id": "p9", "text": None})
    return pl.DataFrame(rows, schema={"note_id": pl.String, "patient_id": pl.String, "text": pl.String})


@pytest.fixture(params=["parquet", "csv", "csv.gz", "jsonl"])
def notes_file(request, tmp_path):
    table = many_notes()
    path = tmp_path / f"notes.{request.param}"
    if request.param == "parquet":
        table.write_parquet(path, row_group_size=4)
    elif request.param == "csv":
        table.write_csv(path)
    elif request.param == "csv.gz":
        import gzip

        with gzip.open(path, "wb") as fh:
            table.write_csv(fh)
    else:
        table.write_ndjson(path)
    return path


def test_batches_stream_the_file_in_order_and_iter_notes_dedupes(notes_file, caplog):
    source = scan_notes(notes_file)
    assert isinstance(source, NotesFile) and source.patient_column == "patient_id"
    batches = list(source.batches(rows=4))
    assert len(batches) >= 6 and max(b.height for b in batches) <= 4  # really read in pieces
    rows = list(iter_notes(source, rows=4))
    assert [r[0] for r in rows] == [f"n{i:02d}" for i in range(23)]  # file order, n03 once, n99 dropped
    assert "a later copy" not in rows[3][2] and "1 row(s) repeat a note id" in caplog.text
    whole = read_notes(notes_file)
    assert whole.rows() == rows  # the table read whole holds the same rows


def test_chunks_of_a_file_bigger_than_a_batch_are_those_of_the_table(notes_file):
    expected = list(chunk_notes(read_notes(notes_file).iter_rows()))
    assert list(note_chunks(scan_notes(notes_file))) == expected
    assert len(expected) > 30 and "n05_0" not in {c.chunk_id for c in expected}  # n05 is too short


def test_stage1_file_from_a_streamed_file_equals_the_examples_built_in_memory(
    notes_file, tmp_path, monkeypatch
):
    """Small read batches (4 notes) and work batches (3 chunks): the file holds exactly the examples
    that building over every chunk at once gives, in chunk order."""
    monkeypatch.setattr("drehr.data.notes.NOTE_BATCH", 4)
    kg = notes_kg()
    out = tmp_path / "stage1.jsonl"
    counts = build_stage1_file(scan_notes(notes_file), kg, out, batch_size=3)
    chunks = list(chunk_notes(read_notes(notes_file).iter_rows()))
    expected = list(build_stage1_examples(chunks, kg, TermMatcher(kg).match, Stage1Config()))
    assert out.read_text(encoding="utf-8") == "".join(ex.to_json() + "\n" for ex in expected)
    assert counts["chunks"] == len(chunks) and counts["written"] == len(expected) > 5
    # the table read whole gives the same file
    table_out = tmp_path / "from_table.jsonl"
    build_stage1_file(read_notes(notes_file), kg, table_out, batch_size=64)
    assert table_out.read_bytes() == out.read_bytes()
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [ex.id for ex in expected]


def test_limit_counts_chunks_across_read_batches(tmp_path, monkeypatch):
    monkeypatch.setattr("drehr.data.notes.NOTE_BATCH", 2)
    path = tmp_path / "notes.parquet"
    many_notes().write_parquet(path)
    out = tmp_path / "s1.jsonl"
    counts = build_stage1_file(scan_notes(path), notes_kg(), out, limit=9, batch_size=4)
    first9 = [c.chunk_id for c in list(note_chunks(read_notes(path)))[:9]]
    assert counts["chunks"] == 9 and counts["processed"] == 9
    assert {json.loads(line)["id"] for line in out.read_text().splitlines()} <= set(first9)


def test_a_file_without_any_note_text_is_an_error(tmp_path):
    path = tmp_path / "empty.parquet"
    pl.DataFrame(
        {"note_id": ["a"], "patient_id": ["p"], "text": [None]}, schema_overrides={"text": pl.String}
    ).write_parquet(path)
    with pytest.raises(UserInputError, match="holds no note with text"):
        list(iter_notes(scan_notes(path)))
    with pytest.raises(UserInputError, match="holds no note with text"):
        build_stage1_file(scan_notes(path), notes_kg(), tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()  # nothing was created
    with pytest.raises(UserInputError, match="lacks column"):
        iter_notes(pl.DataFrame({"note_id": ["a"]})).__next__()
