"""Notes to chunks, as DR.EHR prepares them.

Cleaning removes de-identification tags and brackets (`[** ... **]`, `[...]`), the `___` blanks of
MIMIC-IV, runs of punctuation (`-----`, `....`) and extra whitespace. Notes shorter than
`min_words` after cleaning are skipped. Chunks are `size` words with `overlap` words shared between
neighbours; chunk `i` of note `n` has id `f"{n}_{i}"`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["clean_note", "split_words", "Chunk", "chunk_note", "chunk_notes"]

_BRACKETS = re.compile(r"\[[^\[\]]*\]")  # [** Name **], [...]
_BLANKS = re.compile(r"_{2,}")  # MIMIC-IV's ___
_PUNCT_RUN = re.compile(r"([^\w\s])\1+")  # ----- -> -, .... -> .
_SPACE = re.compile(r"\s+")


def clean_note(text: str) -> str:
    """DR.EHR's note cleaning: drop bracketed tags and `___`, collapse punctuation runs and whitespace."""
    text = _BRACKETS.sub(" ", text)
    text = _BLANKS.sub(" ", text)
    text = _PUNCT_RUN.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip()


def split_words(text: str, size: int = 100, overlap: int = 10) -> list[str]:
    """Split `text` into pieces of `size` whitespace-separated words, `overlap` words shared.

    The last piece may be shorter; a text of at most `size` words gives one piece.
    """
    if size <= 0:
        raise ValueError(f"size must be a positive number of words, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must be in [0, size={size}), got {overlap}")
    words = text.split()
    if not words:
        return []
    step = size - overlap
    pieces = []
    for start in range(0, len(words), step):
        pieces.append(" ".join(words[start : start + size]))
        if start + size >= len(words):
            break
    return pieces


@dataclass(frozen=True)
class Chunk:
    """One passage of a note: `chunk_id` is `<note_id>_<i>`; `patient_id` keeps whose note it is."""

    chunk_id: str
    note_id: str
    patient_id: str
    index: int
    text: str


def chunk_note(
    note_id: str,
    patient_id: str,
    text: str,
    size: int = 100,
    overlap: int = 10,
    min_words: int = 50,
    clean: bool = True,
) -> list[Chunk]:
    """Clean one note and cut it into chunks; an empty list when it has fewer than `min_words` words."""
    body = clean_note(text) if clean else text
    if len(body.split()) < min_words:
        return []
    return [
        Chunk(f"{note_id}_{i}", str(note_id), str(patient_id), i, piece)
        for i, piece in enumerate(split_words(body, size, overlap))
    ]


def chunk_notes(
    notes: Iterable[tuple[str, str, str]],
    size: int = 100,
    overlap: int = 10,
    min_words: int = 50,
    clean: bool = True,
) -> Iterator[Chunk]:
    """Chunk `(note_id, patient_id, text)` triples lazily, so millions of notes stream in bounded memory."""
    for note_id, patient_id, text in notes:
        yield from chunk_note(note_id, patient_id, text, size, overlap, min_words, clean)
