"""Notes tables in: (note_id, patient_id, text) from parquet, CSV (optionally gzipped) or JSONL, and
their DR.EHR chunks.

MIMIC-IV's note/discharge.csv.gz, a synthetic cohort's note/*.csv.gz and a built dataset's
notes.parquet all work as they are. Notes are chunked as DR.EHR does (`drehr.chunking`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from drehr.chunking import Chunk, chunk_notes
from foundation.errors import UserInputError
from foundation.inputs import reading

__all__ = ["PATIENT_COLUMNS", "read_notes", "note_chunks"]

logger = logging.getLogger(__name__)

PATIENT_COLUMNS = ("patient_id", "subject_id", "hadm_id")
"""Columns tried, in this order, for the patient of a note when none is named."""


def _scan(path: Path) -> pl.LazyFrame:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return pl.scan_parquet(path)
    if name.endswith((".csv", ".csv.gz")):
        # polars reads gzipped CSV eagerly only; MIMIC-IV's discharge.csv.gz fits in memory (~1.5 GB text)
        reader = pl.read_csv if name.endswith(".gz") else pl.scan_csv
        frame = reader(path, infer_schema_length=0)  # all columns as strings: ids stay exact
        return frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    if name.endswith((".jsonl", ".ndjson")):
        return pl.scan_ndjson(path)
    raise UserInputError(
        f"notes file {path} has an unknown format; expected .parquet, .csv, .csv.gz or .jsonl"
    )


def read_notes(
    path: str | os.PathLike, patient_column: str | None = None, limit: int | None = None
) -> pl.DataFrame:
    """(note_id, patient_id, text) as strings, one row per distinct note id, in file order.

    The patient is `patient_column`, or the first of patient_id, subject_id, hadm_id present.
    Rows with no text are dropped; a note id repeated (a dataset's notes.parquet lists a note
    once per stay of the patient) is kept once. `limit` keeps the first `limit` notes.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"notes file {path} not found; pass a parquet/CSV/JSONL file of notes")
    with reading(path, "notes file"):
        return _read_notes(path, patient_column, limit)


def _read_notes(path: Path, patient_column: str | None, limit: int | None) -> pl.DataFrame:
    frame = _scan(path)
    columns = frame.collect_schema().names()
    if patient_column is None:
        patient_column = next((c for c in PATIENT_COLUMNS if c in columns), None)
    missing = [c for c in ("note_id", "text", patient_column) if c is None or c not in columns]
    if missing:
        wanted = patient_column or " or ".join(PATIENT_COLUMNS)
        raise UserInputError(
            f"notes file {path} lacks column(s) {[m or wanted for m in missing]} (found: {columns}); "
            f"it needs note_id, text and a patient column ({wanted}); name another one "
            "with --patient-column"
        )
    frame = frame.select(
        pl.col("note_id").cast(pl.String),
        pl.col(patient_column).cast(pl.String).alias("patient_id"),
        pl.col("text").cast(pl.String),
    ).filter(pl.col("text").is_not_null())
    table = frame.collect()
    conflicting = table.unique().group_by("note_id").len().filter(pl.col("len") > 1)
    if conflicting.height:
        logger.warning(
            "notes file %s: %d note id(s) occur with different texts or patients (e.g. %s); the first "
            "row of each is kept",
            path,
            conflicting.height,
            conflicting["note_id"].head(3).to_list(),
        )
    table = table.unique(subset="note_id", keep="first", maintain_order=True)
    if table.height == 0:
        raise UserInputError(
            f"notes file {path} holds no note with text; pass a file with note_id, text and a "
            "patient column (e.g. MIMIC-IV note/discharge.csv.gz or a dataset's notes.parquet)"
        )
    return table.head(limit) if limit is not None else table


def note_chunks(
    notes: pl.DataFrame, size: int = 100, overlap: int = 10, min_words: int = 50
) -> Iterator[Chunk]:
    """DR.EHR chunks (`<note_id>_<i>`, patient kept) of a `read_notes` table, lazily."""
    return chunk_notes(notes.select("note_id", "patient_id", "text").iter_rows(), size, overlap, min_words)
