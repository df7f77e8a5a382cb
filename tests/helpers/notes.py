"""Three discharge notes for the retriever-data tests (library and CLI), and the file they are read from.

n1 names hypertension (as HTN) and hypokalemia, n2 chronic kidney disease: the terms of `notes_kg()`.
Each is 120 words (two chunks; only the first names a KG term); n3 is too short to chunk.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl

FILLER = (
    "the patient was seen on the ward today and the team reviewed the plan with the family "
    "and nursing staff before the evening round "
).split()


def note(words: list[str], n: int = 120) -> str:
    """`words` padded with ward filler to `n` words."""
    return " ".join((words + FILLER * 20)[:n])


NOTES = [
    {
        "note_id": "n1",
        "subject_id": 1,
        "hadm_id": 11,
        "text": note("History: HTN and hypokalemia noted .".split()),
    },
    {
        "note_id": "n2",
        "subject_id": 2,
        "hadm_id": 22,
        "text": note("Known chronic kidney disease stage 3 .".split()),
    },
    {"note_id": "n3", "subject_id": 2, "hadm_id": 22, "text": "too short to chunk"},
]


def write_notes_csv_gz(path: Path) -> Path:
    """`NOTES` as a gzipped CSV (MIMIC-IV's note/discharge.csv.gz layout) at `path`."""
    with gzip.open(path, "wb") as fh:
        pl.DataFrame(NOTES).write_csv(fh)
    return path
