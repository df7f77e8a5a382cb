"""Notes tables in: (note_id, patient_id, text) from parquet, CSV (optionally gzipped) or JSONL, read in
batches of notes, and their DR.EHR chunks.

MIMIC-IV's note/discharge.csv.gz, a synthetic cohort's note/*.csv.gz and a built dataset's
notes.parquet all work as they are. Notes are chunked as DR.EHR does (`drehr.chunking`).

Two ways in:
- `scan_notes(path)` -> `NotesFile`: the columns are checked at once, the rows are read in batches
  (parquet: pyarrow, a row group at a time; CSV, gzipped CSV and JSONL: polars' streaming engine,
  `collect_batches`), so MIMIC-IV's 330k discharge notes (about 1.5 GB of text) never sit in memory
  together. The builders of `drehr.data.files` take one.
- `read_notes(path)` -> `pl.DataFrame`: the whole table, for small inputs and interactive use.
`iter_notes` / `note_chunks` stream either kind, in file order, each note id once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import polars as pl

from drehr.chunking import Chunk, chunk_notes
from foundation.errors import UserInputError
from foundation.inputs import reading

__all__ = [
    "PATIENT_COLUMNS",
    "NOTE_BATCH",
    "Notes",
    "NotesFile",
    "scan_notes",
    "read_notes",
    "iter_notes",
    "note_chunks",
]

logger = logging.getLogger(__name__)

PATIENT_COLUMNS = ("patient_id", "subject_id", "hadm_id")
"""Columns tried, in this order, for the patient of a note when none is named."""

NOTE_BATCH = 1000
"""Notes read per batch (MIMIC-IV discharge notes average ~10 kB: ~10 MB of text a batch)."""

_COLUMNS = ("note_id", "patient_id", "text")


def _scan(path: Path) -> pl.LazyFrame:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return pl.scan_parquet(path)
    if name.endswith((".csv", ".csv.gz")):
        return pl.scan_csv(path, infer_schema_length=0)  # all columns as strings: ids stay exact
    if name.endswith((".jsonl", ".ndjson")):
        return pl.scan_ndjson(path)
    raise UserInputError(
        f"notes file {path} has an unknown format; expected .parquet, .csv, .csv.gz or .jsonl"
    )


@dataclass(frozen=True)
class NotesFile:
    """A notes table on disk whose columns were checked; its rows are read in batches, never whole.

    `patient_column` is the file's column read as `patient_id`.
    """

    path: Path
    patient_column: str

    def _columns(self) -> list[str]:
        return ["note_id", self.patient_column, "text"]

    def _tidy(self, batch: pl.DataFrame) -> pl.DataFrame:
        """(note_id, patient_id, text) as strings, rows without text dropped (eager, on one batch)."""
        return batch.select(
            pl.col("note_id").cast(pl.String),
            pl.col(self.patient_column).cast(pl.String).alias("patient_id"),
            pl.col("text").cast(pl.String),
        ).filter(pl.col("text").is_not_null())

    def _raw_batches(self, rows: int) -> Iterator[pl.DataFrame]:
        if self.path.name.lower().endswith(".parquet"):
            # pyarrow decodes one row group at a time; polars' streaming engine reads far ahead of a
            # slow consumer once the plan casts or filters (~0.6 GB for a 0.2 GB file)
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(self.path, pre_buffer=False)  # pre-buffering keeps what it read
            for batch in parquet.iter_batches(batch_size=rows, columns=self._columns()):
                yield pl.from_arrow(batch)
            return
        frame = _scan(self.path).select(self._columns())
        if hasattr(frame, "collect_batches"):
            yield from frame.collect_batches(chunk_size=rows)
        else:  # a polars without a streaming batch reader: the old eager read
            logger.warning(
                "polars %s has no LazyFrame.collect_batches: %s is read whole; upgrade polars to stream "
                "large notes files",
                pl.__version__,
                self.path,
            )
            yield from frame.collect().iter_slices(rows)

    def batches(self, rows: int = NOTE_BATCH) -> Iterator[pl.DataFrame]:
        """(note_id, patient_id, text) as strings in batches of at most `rows` rows, in file order;
        rows without text dropped, not deduplicated (see `iter_notes`). At most a batch (a parquet
        row group) is decoded ahead of the caller."""
        with reading(self.path, "notes file"):
            batches = self._raw_batches(rows)
        while True:
            with reading(self.path, "notes file"):  # only the read: errors of the caller's code pass through
                batch = next(batches, None)
                if batch is None:
                    return
                batch = self._tidy(batch)
            yield batch


Notes = pl.DataFrame | NotesFile
"""A `read_notes` table or a `scan_notes` file: what `iter_notes`, `note_chunks` and the builders take."""


def scan_notes(path: str | os.PathLike, patient_column: str | None = None) -> NotesFile:
    """A notes file, its columns checked (only its schema is read).

    The patient is `patient_column`, or the first of patient_id, subject_id, hadm_id present.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"notes file {path} not found; pass a parquet/CSV/JSONL file of notes")
    with reading(path, "notes file"):
        columns = _scan(path).collect_schema().names()
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
    return NotesFile(path, patient_column)


def _frame_batches(notes: pl.DataFrame, rows: int) -> Iterator[pl.DataFrame]:
    missing = [c for c in _COLUMNS if c not in notes.columns]
    if missing:
        raise UserInputError(
            f"notes table lacks column(s) {missing} (found: {notes.columns}); pass a `read_notes` table "
            "(note_id, patient_id, text)"
        )
    table = notes.select(pl.col(c).cast(pl.String) for c in _COLUMNS).filter(pl.col("text").is_not_null())
    yield from table.iter_slices(rows)


def iter_notes(notes: Notes, rows: int | None = None) -> Iterator[tuple[str, str, str]]:
    """(note_id, patient_id, text) of each note, in table order, read `rows` (default `NOTE_BATCH`) at a time.

    A note id repeated (a dataset's notes.parquet lists a note once per stay of the patient) is kept
    once, its first row; ids seen with another text or patient are counted and warned about. Memory
    grows with the number of distinct note ids (about 100 bytes each: ~35 MB for MIMIC-IV's 330k
    notes), not with their text. A file that holds no note with text is an error.
    """
    rows = rows if rows is not None else NOTE_BATCH
    if rows <= 0:
        raise ValueError(f"rows must be positive, got {rows}")
    source = notes.path if isinstance(notes, NotesFile) else None
    batches = notes.batches(rows) if isinstance(notes, NotesFile) else _frame_batches(notes, rows)
    seen: dict[str, int] = {}  # note id -> hash of its (patient, text), for the conflict warning
    conflicts, examples = 0, []
    try:
        for batch in batches:
            for note_id, patient_id, text in batch.iter_rows():
                digest = hash((patient_id, text))
                first = seen.get(note_id)
                if first is None:
                    seen[note_id] = digest
                    yield note_id, patient_id, text
                elif first != digest:
                    conflicts += 1
                    if len(examples) < 3 and note_id not in examples:
                        examples.append(note_id)
    finally:
        if conflicts:
            logger.warning(
                "notes %s: %d row(s) repeat a note id with a different text or patient (e.g. %s); the "
                "first row of each id is kept",
                source or "table",
                conflicts,
                examples,
            )
    if not seen and source is not None:
        raise UserInputError(
            f"notes file {source} holds no note with text; pass a file with note_id, text and a "
            "patient column (e.g. MIMIC-IV note/discharge.csv.gz or a dataset's notes.parquet)"
        )


def read_notes(
    path: str | os.PathLike, patient_column: str | None = None, limit: int | None = None
) -> pl.DataFrame:
    """(note_id, patient_id, text) as strings, one row per distinct note id, in file order.

    The whole table in memory: for large files pass `scan_notes(path)` to the builders instead.
    The patient is `patient_column`, or the first of patient_id, subject_id, hadm_id present.
    Rows with no text are dropped; a note id repeated (a dataset's notes.parquet lists a note
    once per stay of the patient) is kept once. `limit` keeps the first `limit` notes.
    """
    rows = list(islice(iter_notes(scan_notes(path, patient_column)), limit))
    return pl.DataFrame(rows, schema={c: pl.String for c in _COLUMNS}, orient="row")


def note_chunks(notes: Notes, size: int = 100, overlap: int = 10, min_words: int = 50) -> Iterator[Chunk]:
    """DR.EHR chunks (`<note_id>_<i>`, patient kept) of a notes table or file, streamed."""
    return chunk_notes(iter_notes(notes), size, overlap, min_words)
