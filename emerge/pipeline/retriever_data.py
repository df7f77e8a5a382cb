"""Training data for the DR.EHR retriever from a notes file: stage I, stage II and QA, as resumable JSONL.

The functions behind `emerge retriever build-stage1 | build-stage2 | build-qa`. A notes file is a
parquet, CSV (optionally gzipped) or JSONL table with a note id, a patient id and the note text:
MIMIC-IV's note/discharge.csv.gz, a synthetic cohort's note/*.csv.gz and a built dataset's
notes.parquet all work as they are. Notes are chunked as DR.EHR does (drehr.chunking); every
builder appends to its output JSONL and skips anchors already there, so a killed run resumes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from drehr.chunking import Chunk, chunk_notes
from drehr.data import (
    ExampleWriter,
    Stage1Config,
    build_stage1_examples,
    completed_ids,
    parse_entity_list,
    parse_questions,
    qa_units,
    run_llm_recipe,
    stage2_units,
)
from foundation.errors import UserInputError
from foundation.inputs import reading

__all__ = ["read_notes", "note_chunks", "load_kg", "llm_text_fn", "build_stage1_file", "build_stage2_file",
           "build_qa_file", "PATIENT_COLUMNS"]

logger = logging.getLogger(__name__)

TextFn = Callable[[list[str]], list[str]]

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
    raise UserInputError(f"notes file {path} has an unknown format; expected .parquet, .csv, .csv.gz or .jsonl")


def read_notes(path: str | os.PathLike, patient_column: str | None = None, limit: int | None = None) -> pl.DataFrame:
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
        raise UserInputError(f"notes file {path} lacks column(s) {[m or wanted for m in missing]} (found: {columns}); "
                             f"it needs note_id, text and a patient column ({wanted}); name another one "
                             "with --patient-column")
    frame = (frame.select(pl.col("note_id").cast(pl.String), pl.col(patient_column).cast(pl.String).alias("patient_id"),
                          pl.col("text").cast(pl.String))
             .filter(pl.col("text").is_not_null()))
    table = frame.collect()
    conflicting = table.unique().group_by("note_id").len().filter(pl.col("len") > 1)
    if conflicting.height:
        logger.warning("notes file %s: %d note id(s) occur with different texts or patients (e.g. %s); the first "
                       "row of each is kept", path, conflicting.height, conflicting["note_id"].head(3).to_list())
    table = table.unique(subset="note_id", keep="first", maintain_order=True)
    if table.height == 0:
        raise UserInputError(f"notes file {path} holds no note with text; pass a file with note_id, text and a "
                             "patient column (e.g. MIMIC-IV note/discharge.csv.gz or a dataset's notes.parquet)")
    return table.head(limit) if limit is not None else table


def note_chunks(notes: pl.DataFrame, size: int = 100, overlap: int = 10, min_words: int = 50) -> Iterator[Chunk]:
    """DR.EHR chunks (`<note_id>_<i>`, patient kept) of a `read_notes` table, lazily."""
    return chunk_notes(notes.select("note_id", "patient_id", "text").iter_rows(), size, overlap, min_words)


def load_kg(spec: str | os.PathLike):
    """"starter" (the bundled starter KG, built once and cached) or a folder saved by `KnowledgeGraph.save`."""
    from kg.loading import open_graph_spec

    return open_graph_spec(spec)


def llm_text_fn(config: str | os.PathLike | Any, out_path: str | os.PathLike, backend=None
                ) -> tuple[TextFn, Any]:
    """A cached `list[str] -> list[str]` over the LLM of `config` (a YAML path or an LLMConfig).

    The cache is a SQLite file next to the output (`<out>.llm_cache.sqlite`), so a rerun never asks
    the model again for a prompt it answered. `backend` overrides the one the config builds (tests
    pass a fake). Returns (text function, cache); close the cache when done.
    """
    from emerge.llm.batch import as_text_fn
    from emerge.llm.cache import LLMCache
    from emerge.llm.config import load_llm_config
    from emerge.llm.factory import build_backend

    cfg = load_llm_config(config) if isinstance(config, (str, os.PathLike)) else config
    if backend is None:
        backend = build_backend(cfg, lazy=True)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    cache = LLMCache(out_path.with_name(out_path.name + ".llm_cache.sqlite"))
    return as_text_fn(backend, cfg.sampling, cache, batch_size=getattr(cfg, "batch_size", 16)), cache


def build_stage1_file(notes: pl.DataFrame, kg, out_path: str | os.PathLike, config: Stage1Config | None = None,
                      expand_abbreviations: TextFn | None = None, limit: int | None = None,
                      batch_size: int = 64, min_words: int = 50) -> dict[str, int]:
    """Append stage I examples for the chunks of `notes` not yet in `out_path`; return counts.

    Counts: chunks (seen), processed (not yet in the file), skipped (already in it), written,
    without_concepts (no KG term: no example, recomputed on a rerun, cheap), concepts,
    abbreviations kept / rejected.
    `limit` processes only the first `limit` chunks; notes under `min_words` words are skipped
    (DR.EHR: 50).
    """
    from kg.matching import TermMatcher

    config = config if config is not None else Stage1Config()
    done = completed_ids(out_path)
    matcher = TermMatcher(kg)
    chunks = note_chunks(notes, min_words=min_words)
    todo: list[Chunk] = []
    skipped = 0
    for i, chunk in enumerate(chunks):
        if limit is not None and i >= limit:
            break
        if chunk.chunk_id in done:
            skipped += 1
        else:
            todo.append(chunk)
    if not todo and not skipped:
        raise UserInputError(f"none of the {notes.height} notes gives a chunk: every note is shorter than "
                             f"--min-words {min_words} words after cleaning; lower --min-words")
    stats: dict[str, int] = {}
    written = 0
    examples = build_stage1_examples(_progress(todo, "stage I chunks"), kg, matcher.match, config,
                                     expand_abbreviations=expand_abbreviations, batch_size=batch_size, stats=stats)
    with ExampleWriter(out_path) as writer:
        batch = []
        for example in examples:
            batch.append(example)
            if len(batch) >= batch_size:
                written += writer.write(batch)
                batch = []
        written += writer.write(batch)
    stats.pop("with_concepts", None)  # == written
    counts = {**stats, "chunks": skipped + len(todo), "processed": stats.get("chunks", 0), "skipped": skipped,
              "written": written}
    logger.info("stage I examples in %s: %s", out_path, counts)
    return counts


def _progress(items: list, desc: str):
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="chunk", mininterval=5.0)


def build_stage2_file(notes: pl.DataFrame, generate: TextFn, out_path: str | os.PathLike, limit: int | None = None,
                      batch_size: int = 16) -> dict[str, int]:
    """Stage II: one LLM call per (chunk, entity type), parsed into positives; the first `limit` chunks."""
    chunks = list(_first(note_chunks(notes), limit))
    if not chunks:
        raise UserInputError(f"none of the {notes.height} notes gives a chunk: every note is shorter than 50 words "
                             "after cleaning (DR.EHR skips those)")
    counts = run_llm_recipe(stage2_units(chunks), generate, parse_entity_list, out_path, batch_size, total=len(chunks))
    return {"chunks": len(chunks), **counts}


def build_qa_file(notes: pl.DataFrame, generate: TextFn, out_path: str | os.PathLike, limit: int | None = None,
                  n_questions: int = 3, batch_size: int = 16) -> dict[str, int]:
    """QA recipe: questions for every section of the first `limit` notes."""
    rows = list(_first(notes.select("note_id", "text").iter_rows(), limit))
    units = list(qa_units(rows, n_questions))
    counts = run_llm_recipe(units, generate, parse_questions, out_path, batch_size, total=len(units))
    return {"notes": len(rows), "sections": len(units), **counts}


def _first(items, limit: int | None):
    for i, item in enumerate(items):
        if limit is not None and i >= limit:
            return
        yield item
