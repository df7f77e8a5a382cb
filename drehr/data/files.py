"""Training-data files for the DR.EHR retriever: a notes table or file in, resumable JSONL out.

The functions behind `emerge retriever build-stage1 | build-stage2 | build-qa`. `notes` is a
`scan_notes` file (read in batches of notes: MIMIC-IV's 330k discharge notes stream in bounded
memory) or a `read_notes` table (drehr.data.notes). Notes are split into anchors (chunks, or
sections for QA) in file order; batches of anchors are processed and appended to the output JSONL
as they finish, and a progress record beside it says how far the stream is done
(drehr.data.progress), so a killed run resumes without reading what it wrote. Where an LLM is
needed it is a plain `TextFn` (`list[str] -> list[str]`) passed in; emerge wires a local backend
and its cache to one (`emerge.llm.text_fn.llm_text_fn`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from drehr.chunking import Chunk, chunk_note
from drehr.data.llm_runner import PromptUnit, TextFn, llm_work
from drehr.data.notes import Notes, iter_notes
from drehr.data.progress import BuildCounts, ResumableJob, run_resumable
from drehr.data.qa import parse_questions, qa_prompt, qa_units
from drehr.data.stage1 import CachedKnowledge, KnowledgeSource, Stage1Config, build_stage1_examples
from drehr.data.stage2 import ENTITY_TYPES, parse_entity_list, stage2_prompt, stage2_units
from foundation.errors import UserInputError
from foundation.outputs import check_output_file

if TYPE_CHECKING:
    from kg.graph import KnowledgeGraph

__all__ = ["build_stage1_file", "build_stage2_file", "build_qa_file", "COMMIT_EVERY_S"]

logger = logging.getLogger(__name__)

CHUNK_WORDS, CHUNK_OVERLAP = 100, 10  # DR.EHR's chunks
STAGE2_MIN_WORDS = 50  # DR.EHR skips shorter notes
QA_MIN_WORDS, QA_MAX_WORDS = 20, 300

COMMIT_EVERY_S = 2.0
"""Stage I without an LLM records its progress (an fsync and a small JSON file) at most this often;
a kill redoes at most this much work. Builders that call an LLM record after every batch."""

Note = tuple[str, str, str]


def _note_sources(notes: Notes) -> Callable[[], Iterator[tuple[str, Note]]]:
    return lambda: ((note[0], note) for note in iter_notes(notes))


def _kg_fingerprint(kg: KnowledgeSource) -> str | None:
    fingerprint = getattr(kg, "content_fingerprint", None)
    return fingerprint() if callable(fingerprint) else None


def _chunk_id(chunk: Chunk) -> str:
    return chunk.chunk_id


def _unit_id(unit: PromptUnit) -> str:
    return unit.id


def _no_chunk(sources: int, min_words: int, option: str) -> UserInputError:
    return UserInputError(
        f"none of the {sources} notes gives a chunk: every note is shorter than {option}{min_words} "
        "words after cleaning" + ("; lower --min-words" if option else " (DR.EHR skips those)")
    )


def _run_llm_on_notes(
    out_path: str | os.PathLike,
    notes: Notes,
    generate: TextFn,
    batch_size: int,
    *,
    recipe: str,
    settings: Mapping[str, Any],
    split: Callable[[Note], list[PromptUnit]],
    parse: Callable[[str], list[str]],
    limit: int | None = None,
    limit_sources: int | None = None,
    desc: str,
    unit: str,
) -> tuple[BuildCounts, dict[str, int]]:
    """Run an LLM recipe over `notes` into `out_path`: the shape stage II and QA share.

    Each note is split into prompt units, `generate` answers a batch's prompts and `parse` turns the
    answers into positives (`llm_work`); the progress record is written after every batch. Returns the
    build's counts and `llm_work`'s own (`empty`). What differs between the recipes is keyword-only.
    """
    counts: dict[str, int] = {}
    job = ResumableJob(
        recipe=recipe,
        settings=settings,
        sources=_note_sources(notes),
        split=split,
        anchor_id=_unit_id,
        work=llm_work(generate, parse, counts),
        batch_size=batch_size,
        limit=limit,
        limit_sources=limit_sources,
        desc=desc,
        unit=unit,
    )
    return run_resumable(out_path, job), counts


def build_stage1_file(
    notes: Notes,
    kg: KnowledgeGraph,
    out_path: str | os.PathLike,
    config: Stage1Config | None = None,
    expand_abbreviations: TextFn | None = None,
    limit: int | None = None,
    batch_size: int = 64,
    min_words: int = 50,
) -> dict[str, int]:
    """Append stage I examples for the chunks of `notes` not yet done in `out_path`; return counts.

    Counts: chunks (seen), processed (now), skipped (done by an earlier run), written,
    without_concepts (processed chunks with no KG term: no example), concepts, abbreviations
    kept / rejected. `limit` processes only the first `limit` chunks; notes under `min_words` words
    are skipped (DR.EHR: 50).
    """
    from kg.matching import TermMatcher

    check_output_file(out_path, "examples file", growing=True)  # before the matcher is built
    config = config if config is not None else Stage1Config()
    matcher = TermMatcher(kg)
    knowledge = CachedKnowledge(kg)  # shared by every batch
    keys = ("chunks", "with_concepts", "without_concepts", "concepts")
    stats: dict[str, int] = dict.fromkeys((*keys, "abbreviations_kept", "abbreviations_rejected"), 0)

    def split(note: Note) -> list[Chunk]:
        return chunk_note(*note, size=CHUNK_WORDS, overlap=CHUNK_OVERLAP, min_words=min_words)

    def work(batch: list[Chunk]):
        return list(
            build_stage1_examples(
                batch,
                knowledge,
                matcher.match,
                config,
                expand_abbreviations,
                batch_size=len(batch),
                stats=stats,
            )
        )

    settings = {
        "config": asdict(config),
        "min_words": min_words,
        "chunk_words": CHUNK_WORDS,
        "chunk_overlap": CHUNK_OVERLAP,
        "kg": _kg_fingerprint(kg),
        "abbreviations": expand_abbreviations is not None,
    }
    job = ResumableJob(
        recipe="stage1",
        settings=settings,
        sources=_note_sources(notes),
        split=split,
        anchor_id=_chunk_id,
        work=work,
        batch_size=batch_size,
        limit=limit,
        commit_every_s=0.0 if expand_abbreviations is not None else COMMIT_EVERY_S,
        desc="stage I chunks",
        unit="chunk",
    )
    result = run_resumable(out_path, job)
    if result.anchors == 0:
        raise _no_chunk(result.sources, min_words, "--min-words ")
    counts = {
        **{
            k: v for k, v in stats.items() if k not in ("chunks", "with_concepts")
        },  # with_concepts == written
        "chunks": result.anchors,
        "processed": result.processed,
        "skipped": result.skipped,
        "written": result.written,
    }
    logger.info("stage I examples in %s (%s resume): %s", out_path, result.resume, counts)
    return counts


def build_stage2_file(
    notes: Notes,
    generate: TextFn,
    out_path: str | os.PathLike,
    limit: int | None = None,
    batch_size: int = 16,
) -> dict[str, int]:
    """Stage II: one LLM call per (chunk, entity type), parsed into positives; the first `limit` chunks."""

    def split(note: Note) -> list[PromptUnit]:
        chunks = chunk_note(*note, size=CHUNK_WORDS, overlap=CHUNK_OVERLAP, min_words=STAGE2_MIN_WORDS)
        return list(stage2_units(chunks))

    settings = {
        "prompts": [stage2_prompt("{chunk}", t) for t in ENTITY_TYPES],
        "min_words": STAGE2_MIN_WORDS,
        "chunk_words": CHUNK_WORDS,
        "chunk_overlap": CHUNK_OVERLAP,
    }
    result, counts = _run_llm_on_notes(
        out_path,
        notes,
        generate,
        batch_size,
        recipe="stage2",
        settings=settings,
        split=split,
        parse=parse_entity_list,
        limit=limit,
        desc="stage II chunks",
        unit="chunk",
    )
    if result.anchors == 0:
        raise _no_chunk(result.sources, STAGE2_MIN_WORDS, "")
    return {"chunks": result.anchors, "written": result.written, "skipped": result.skipped, **counts}


def build_qa_file(
    notes: Notes,
    generate: TextFn,
    out_path: str | os.PathLike,
    limit: int | None = None,
    n_questions: int = 3,
    batch_size: int = 16,
) -> dict[str, int]:
    """QA recipe: questions for every section of the first `limit` notes."""

    def split(note: Note) -> list[PromptUnit]:
        return list(qa_units([(note[0], note[2])], n_questions, QA_MIN_WORDS, QA_MAX_WORDS))

    settings = {
        "prompt": qa_prompt("{title}", "{text}", n_questions),
        "min_words": QA_MIN_WORDS,
        "max_words": QA_MAX_WORDS,
    }
    result, counts = _run_llm_on_notes(
        out_path,
        notes,
        generate,
        batch_size,
        recipe="qa",
        settings=settings,
        split=split,
        parse=parse_questions,
        limit_sources=limit,
        desc="QA sections",
        unit="section",
    )
    return {
        "notes": result.sources,
        "sections": result.anchors,
        "written": result.written,
        "skipped": result.skipped,
        **counts,
    }
