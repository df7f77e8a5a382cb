"""Disease entities from notes, as EMERGE extracts them.

Notes are split into 2,000-word pieces, at most 4 pieces are sampled (seeded), an LLM is asked for
the diseases in each piece with a JSON answer `{"entities": [...]}`, entities that do not literally
occur in the note are dropped (LLMs invent), the rest are de-duplicated case-insensitively and
ordered by how often they occur in the note. The LLM call and JSON parsing with retries are passed
in as `ask` so this module stays pure; kg's term matcher can serve as a fallback or be unioned.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from foundation.errors import UserInputError

__all__ = [
    "NER_PROMPT",
    "ner_prompt",
    "ner_prompts",
    "split_pieces",
    "sample_pieces",
    "literal_count",
    "NoteEntities",
    "extract_note_entities",
]

NER_PROMPT = (
    "You are a clinical information extraction assistant. Extract every disease, syndrome or "
    "clinical condition mentioned in the clinical note below. Copy each one exactly as it is written "
    'in the note. Answer only with JSON of the form {{"entities": ["...", "..."]}}; answer '
    '{{"entities": []}} if there is none.\n\nNote:\n{text}'
)

AskFn = Callable[[list[str]], list[list[str] | None]]
Mode = Literal["llm", "matcher", "union"]


def ner_prompt(piece: str) -> str:
    return NER_PROMPT.format(text=piece)


def split_pieces(text: str, words: int = 2000) -> list[str]:
    """Consecutive pieces of at most `words` words."""
    if words <= 0:
        raise UserInputError(f"piece size must be a positive number of words, got {words}")
    tokens = text.split()
    return [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]


def sample_pieces(pieces: Sequence[str], k: int = 4, seed: int = 0) -> list[str]:
    """Up to `k` pieces, sampled without replacement with `seed`, kept in note order."""
    if len(pieces) <= k:
        return list(pieces)
    chosen = sorted(random.Random(seed).sample(range(len(pieces)), k))
    return [pieces[i] for i in chosen]


def _joined(notes: Sequence[str]) -> str:
    return "\n".join(n for n in notes if n and n.strip())


def ner_prompts(
    notes: Sequence[str], seed: int = 0, piece_words: int = 2000, max_pieces: int = 4
) -> list[str]:
    """The NER prompts `extract_note_entities` sends for one stay's notes (none without text), so a caller
    can send the prompts of many stays to the LLM in one batch first and answer from those results."""
    text = _joined(notes)
    return (
        [ner_prompt(p) for p in sample_pieces(split_pieces(text, piece_words), max_pieces, seed)]
        if text
        else []
    )


def literal_count(entity: str, text_lower: str) -> int:
    """How often `entity` occurs in the lower-cased note at word boundaries (0: the LLM invented it)."""
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in entity.lower().split()) + r"(?!\w)"
    return len(re.findall(pattern, text_lower))


@dataclass
class NoteEntities:
    """Entities of one stay's notes with their counts, and what happened on the way."""

    entities: list[tuple[str, int]] = field(default_factory=list)  # (entity, count), most frequent first
    pieces: int = 0
    dropped_not_in_note: list[str] = field(default_factory=list)
    unparsed_pieces: int = 0
    source: str = "none"


def extract_note_entities(
    notes: Sequence[str],
    ask: AskFn | None,
    seed: int = 0,
    piece_words: int = 2000,
    max_pieces: int = 4,
    mode: Mode = "llm",
    match: Callable[[str], Sequence[str]] | None = None,
) -> NoteEntities:
    """Entities of one stay's notes.

    Args:
        notes: the stay's note texts (in-window notes by default upstream).
        ask: prompts -> per prompt the parsed entity list, or None when nothing parsed after retries.
        mode: "llm" (EMERGE), "matcher" (kg term matcher only), "union" (both).
        match: lower-cased text -> matched KG surface forms; needed for "matcher" and "union".
    """
    if mode not in ("llm", "matcher", "union"):
        raise UserInputError(f"unknown entity mode {mode!r}; valid: llm, matcher, union")
    if mode in ("matcher", "union") and match is None:
        raise UserInputError(f"entity mode {mode!r} needs a term matcher (pass match=kg.TermMatcher(...))")
    if mode in ("llm", "union") and ask is None:
        raise UserInputError(f"entity mode {mode!r} needs an LLM (pass ask=...)")
    result = NoteEntities()
    text = _joined(notes)
    if not text:
        return result
    lower = text.lower()
    candidates: dict[str, str] = {}
    if mode in ("llm", "union"):
        prompts = ner_prompts(notes, seed, piece_words, max_pieces)
        result.pieces = len(prompts)
        for answer in ask(prompts):
            if answer is None:
                result.unparsed_pieces += 1
                continue
            for entity in answer:
                entity = " ".join(str(entity).split()).strip(" .,;:")
                if entity:
                    candidates.setdefault(entity.lower(), entity)
    if mode in ("matcher", "union"):
        for surface in match(lower):
            candidates.setdefault(surface.lower(), surface)
    counted = []
    for key, entity in candidates.items():
        n = literal_count(key, lower)
        if n:
            counted.append((entity, n))
        else:
            result.dropped_not_in_note.append(entity)
    counted.sort(key=lambda item: (-item[1], item[0].lower()))
    result.entities = counted
    result.source = mode
    return result
