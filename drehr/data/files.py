"""Training-data files for the DR.EHR retriever: a notes table in, resumable JSONL out.

The functions behind `emerge retriever build-stage1 | build-stage2 | build-qa`. `notes` is a
`read_notes` table (drehr.data.notes); every builder appends to its output JSONL and skips anchors
already there, so a killed run resumes. Where an LLM is needed it is a plain `TextFn`
(`list[str] -> list[str]`) passed in; emerge wires a local backend and its cache to one
(`emerge.llm.text_fn.llm_text_fn`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

import polars as pl

from drehr.chunking import Chunk
from drehr.data.examples import ExampleWriter, completed_ids
from drehr.data.llm_runner import TextFn, run_llm_recipe
from drehr.data.notes import note_chunks
from drehr.data.qa import parse_questions, qa_units
from drehr.data.stage1 import Stage1Config, build_stage1_examples
from drehr.data.stage2 import parse_entity_list, stage2_units
from foundation.errors import UserInputError

if TYPE_CHECKING:
    from kg.graph import KnowledgeGraph

__all__ = ["build_stage1_file", "build_stage2_file", "build_qa_file"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def build_stage1_file(
    notes: pl.DataFrame,
    kg: KnowledgeGraph,
    out_path: str | os.PathLike,
    config: Stage1Config | None = None,
    expand_abbreviations: TextFn | None = None,
    limit: int | None = None,
    batch_size: int = 64,
    min_words: int = 50,
) -> dict[str, int]:
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
    todo: list[Chunk] = []
    skipped = 0
    for chunk in _first(note_chunks(notes, min_words=min_words), limit):
        if chunk.chunk_id in done:
            skipped += 1
        else:
            todo.append(chunk)
    if not todo and not skipped:
        raise UserInputError(
            f"none of the {notes.height} notes gives a chunk: every note is shorter than "
            f"--min-words {min_words} words after cleaning; lower --min-words"
        )
    stats: dict[str, int] = {}
    written = 0
    examples = build_stage1_examples(
        _progress(todo, "stage I chunks"),
        kg,
        matcher.match,
        config,
        expand_abbreviations=expand_abbreviations,
        batch_size=batch_size,
        stats=stats,
    )
    with ExampleWriter(out_path) as writer:
        batch = []
        for example in examples:
            batch.append(example)
            if len(batch) >= batch_size:
                written += writer.write(batch)
                batch = []
        written += writer.write(batch)
    stats.pop("with_concepts", None)  # == written
    counts = {
        **stats,
        "chunks": skipped + len(todo),
        "processed": stats.get("chunks", 0),
        "skipped": skipped,
        "written": written,
    }
    logger.info("stage I examples in %s: %s", out_path, counts)
    return counts


def build_stage2_file(
    notes: pl.DataFrame,
    generate: TextFn,
    out_path: str | os.PathLike,
    limit: int | None = None,
    batch_size: int = 16,
) -> dict[str, int]:
    """Stage II: one LLM call per (chunk, entity type), parsed into positives; the first `limit` chunks."""
    chunks = list(_first(note_chunks(notes), limit))
    if not chunks:
        raise UserInputError(
            f"none of the {notes.height} notes gives a chunk: every note is shorter than 50 words "
            "after cleaning (DR.EHR skips those)"
        )
    counts = run_llm_recipe(
        stage2_units(chunks), generate, parse_entity_list, out_path, batch_size, total=len(chunks)
    )
    return {"chunks": len(chunks), **counts}


def build_qa_file(
    notes: pl.DataFrame,
    generate: TextFn,
    out_path: str | os.PathLike,
    limit: int | None = None,
    n_questions: int = 3,
    batch_size: int = 16,
) -> dict[str, int]:
    """QA recipe: questions for every section of the first `limit` notes."""
    rows = list(_first(notes.select("note_id", "text").iter_rows(), limit))
    units = list(qa_units(rows, n_questions))
    counts = run_llm_recipe(units, generate, parse_questions, out_path, batch_size, total=len(units))
    return {"notes": len(rows), "sections": len(units), **counts}


def _progress(items: list, desc: str):
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="chunk", mininterval=5.0)


def _first(items: Iterable[T], limit: int | None) -> Iterator[T]:
    for i, item in enumerate(items):
        if limit is not None and i >= limit:
            return
        yield item
