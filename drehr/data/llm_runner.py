"""Run an LLM over many anchors and write training examples as it goes (stage II and QA recipes).

Each unit of work is one anchor (a chunk or a section) with one or more prompts. The runner skips
anchors already written to the output file, sends prompts to `generate` in batches, parses the
answers into positives, and appends each finished batch to the JSONL file, so a killed run resumes
where it stopped with no lost or repeated work. `generate` is any `list[str] -> list[str]` callable
(emerge wires a local LLM backend with a persistent cache to it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from tqdm.auto import tqdm

from drehr.data.examples import ExampleWriter, TrainingExample, completed_ids, concept_label
from foundation.errors import UserInputError

__all__ = ["TextFn", "PromptUnit", "run_llm_recipe"]

logger = logging.getLogger(__name__)

TextFn = Callable[[list[str]], list[str]]
"""A text generator: prompts in, one answer per prompt out (emerge wires a cached LLM backend to one)."""


@dataclass(frozen=True)
class PromptUnit:
    """An anchor and the prompts whose parsed answers become its positives."""

    id: str
    anchor: str
    prompts: tuple[str, ...]


def _batches(items: Iterable[PromptUnit], size: int) -> Iterator[list[PromptUnit]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def run_llm_recipe(
    units: Iterable[PromptUnit],
    generate: TextFn,
    parse: Callable[[str], list[str]],
    out_path: str | os.PathLike,
    batch_size: int = 16,
    total: int | None = None,
) -> dict[str, int]:
    """Generate, parse and write examples for every unit not yet in `out_path`.

    Returns counts: written, skipped (already done), empty (no positive parsed; not written, so a
    rerun retries them, which with a cached LLM costs nothing).
    """
    if batch_size <= 0:
        raise UserInputError(f"batch_size must be positive, got {batch_size}")
    done = completed_ids(out_path)
    counts = {"written": 0, "skipped": 0, "empty": 0}
    todo = []
    for unit in units:
        if unit.id in done:
            counts["skipped"] += 1
        else:
            todo.append(unit)
    if counts["skipped"]:
        logger.info("resuming: %d anchors already in %s", counts["skipped"], out_path)
    with ExampleWriter(out_path) as writer, tqdm(total=len(todo), desc="LLM examples", unit="anchor") as bar:
        for batch in _batches(todo, batch_size):
            prompts = [p for unit in batch for p in unit.prompts]
            answers = generate(prompts)
            if len(answers) != len(prompts):
                raise RuntimeError(
                    f"text generator returned {len(answers)} answers for {len(prompts)} prompts"
                )
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
                    TrainingExample(
                        unit.anchor, items, tuple(concept_label(k) for k in positives), id=unit.id
                    )
                )
            counts["written"] += writer.write(examples)
            bar.update(len(batch))
    logger.info("LLM recipe: %s", counts)
    return counts
