"""Run an LLM over many anchors and write training examples as it goes (stage II and QA recipes).

Each unit of work is one anchor (a chunk or a section) with one or more prompts. `llm_work` sends a
batch's prompts to `generate` and parses the answers into positives; `drehr.data.progress` streams
the anchors, appends each finished batch to the JSONL file and records its progress, so a killed
run resumes where it stopped with no lost or repeated work. `generate` is any
`list[str] -> list[str]` callable (emerge wires a local LLM backend with a persistent cache to it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from drehr.data.examples import TrainingExample, concept_label
from drehr.data.progress import ResumableJob, run_resumable

__all__ = ["TextFn", "PromptUnit", "llm_work", "run_llm_recipe"]

logger = logging.getLogger(__name__)

TextFn = Callable[[list[str]], list[str]]
"""A text generator: prompts in, one answer per prompt out (emerge wires a cached LLM backend to one)."""


@dataclass(frozen=True)
class PromptUnit:
    """An anchor and the prompts whose parsed answers become its positives."""

    id: str
    anchor: str
    prompts: tuple[str, ...]


def llm_work(
    generate: TextFn, parse: Callable[[str], list[str]], counts: dict[str, int]
) -> Callable[[list[PromptUnit]], list[TrainingExample]]:
    """The work of a batch of units: one `generate` call for all their prompts, answers parsed into
    positives (case-insensitive duplicates dropped). A unit whose answers parse to nothing gives no
    example and counts in `counts["empty"]`."""
    counts.setdefault("empty", 0)

    def work(batch: list[PromptUnit]) -> list[TrainingExample]:
        prompts = [p for unit in batch for p in unit.prompts]
        answers = generate(prompts)
        if len(answers) != len(prompts):
            raise RuntimeError(f"text generator returned {len(answers)} answers for {len(prompts)} prompts")
        examples, pos = [], 0
        for unit in batch:
            positives: dict[str, str] = {}
            for answer in answers[pos : pos + len(unit.prompts)]:
                for item in parse(answer):
                    positives.setdefault(item.lower(), item)
            pos += len(unit.prompts)
            if not positives:
                counts["empty"] += 1
                continue
            items = tuple(positives.values())
            examples.append(
                TrainingExample(unit.anchor, items, tuple(concept_label(k) for k in positives), id=unit.id)
            )
        return examples

    return work


def run_llm_recipe(
    units: Iterable[PromptUnit],
    generate: TextFn,
    parse: Callable[[str], list[str]],
    out_path: str | os.PathLike,
    batch_size: int = 16,
    total: int | None = None,
) -> dict[str, int]:
    """Generate, parse and write examples for every unit not yet done in `out_path`, in order.

    Returns counts: written, skipped (done by an earlier run), empty (no positive parsed: no
    example; a unit counts as done all the same, and with a cached LLM its rerun would parse the
    same answer). `total` is the progress bar's length. The builders of `drehr.data.files` stream
    notes into the same machinery.
    """
    units = units if isinstance(units, Sequence) else list(units)
    counts: dict[str, int] = {}
    parser = f"{getattr(parse, '__module__', '')}.{getattr(parse, '__qualname__', repr(parse))}"
    job = ResumableJob(
        recipe="llm",
        settings={"parse": parser},
        sources=lambda: ((unit.id, unit) for unit in units),
        split=lambda unit: (unit,),
        anchor_id=_unit_id,
        work=llm_work(generate, parse, counts),
        batch_size=batch_size,
        desc="LLM examples",
        total=total if total is not None else len(units),
    )
    result = run_resumable(out_path, job)
    out = {"written": result.written, "skipped": result.skipped, "empty": counts["empty"]}
    logger.info("LLM recipe: %s", out)
    return out


def _unit_id(unit: PromptUnit) -> str:
    return unit.id
