"""DR.EHR stage II: LLM-written entities for each chunk (diagnoses, procedures, prescriptions).

One prompt per (chunk, type) asks for the entities "explicitly mentioned or implicitly inferred",
with standardized names, as a bulleted list. `parse_entity_list` strips bullets, numbering,
explanations, "NA" and duplicates. The chunk is the anchor and its entities the positives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

from drehr.chunking import Chunk
from drehr.data.llm_runner import PromptUnit

__all__ = ["ENTITY_TYPES", "stage2_prompt", "parse_entity_list", "stage2_units"]

EntityType = Literal["diagnoses", "procedures", "prescriptions"]
ENTITY_TYPES: tuple[EntityType, ...] = ("diagnoses", "procedures", "prescriptions")

_TYPE_HINT = {
    "diagnoses": "diagnoses (diseases, syndromes, symptoms and abnormal findings)",
    "procedures": "procedures (surgeries, interventions, imaging, tests and therapies)",
    "prescriptions": "prescriptions (drugs and medications, by generic name)",
}

_PROMPT = (
    "Here is a piece of a patient's clinical note:\n\n{text}\n\n"
    "List all {hint} that are explicitly mentioned or can be implicitly inferred from this note. "
    'Use standardized medical names, one per line, each line starting with "- ". '
    "Do not explain. If there are none, answer NA."
)

_BULLET = re.compile(r"^\s*(?:[-*\u2022\u2023\u25e6]|\d+[.)]|[a-z][.)])\s+")
_PAREN = re.compile(r"\s*[(\[][^)\]]*[)\]]")
_EXPLAIN = re.compile(r"\s+(?:-|\u2013|\u2014)\s+|:\s+|;\s+")
_NONE = {"na", "n/a", "none", "no", "nil", "not mentioned", "none mentioned", "unknown", "not applicable"}
_MAX_WORDS = 10


def stage2_prompt(text: str, entity_type: EntityType) -> str:
    """The prompt for one (chunk, type) pair."""
    if entity_type not in _TYPE_HINT:
        raise ValueError(f"unknown entity type {entity_type!r}; valid: {list(_TYPE_HINT)}")
    return _PROMPT.format(text=text, hint=_TYPE_HINT[entity_type])


def _clean_item(line: str) -> str:
    item = _BULLET.sub("", line).strip()
    item = _PAREN.sub("", item)
    item = _EXPLAIN.split(item, maxsplit=1)[0]
    item = item.strip(" \t*_`\"'.,;:")
    return re.sub(r"\s+", " ", item)


def parse_entity_list(answer: str) -> list[str]:
    """Entities from an LLM answer: bulleted lines if any, else plain lines; no explanations or NA.

    Preambles ("Here are the diagnoses:") and lines of more than 10 words are dropped; duplicates
    (case-insensitive) are kept once, in order of first appearance.
    """
    lines = [ln for ln in answer.splitlines() if ln.strip()]
    bulleted = [ln for ln in lines if _BULLET.match(ln)]
    candidates = bulleted if bulleted else [ln for ln in lines if not ln.rstrip().endswith(":")]
    out: dict[str, str] = {}
    for line in candidates:
        item = _clean_item(line)
        key = item.lower()
        if not item or key in _NONE or len(item.split()) > _MAX_WORDS or not re.search(r"[a-zA-Z]", item):
            continue
        out.setdefault(key, item)
    return list(out.values())


def stage2_units(chunks: Iterable[Chunk], types: Sequence[EntityType] = ENTITY_TYPES) -> Iterable[PromptUnit]:
    """One unit per chunk with one prompt per entity type."""
    for chunk in chunks:
        yield PromptUnit(chunk.chunk_id, chunk.text, tuple(stage2_prompt(chunk.text, t) for t in types))
