r"""Notes to chunks for DR.EHR's training data, with a cleaning close to (not the same as) DR.EHR's.

DR.EHR's `preprocess/preprocess.py` (github.com/zhao-zy15/DR.EHR) cleans a note, skips it when it has
fewer than `min_words` (50) words, and cuts it with LangChain's `CharacterTextSplitter(separator=" ",
chunk_size=100, chunk_overlap=10, length_function=lambda x: len(x.split()))`, chunk `i` (from 0) of note
`n` having id `f"{n}_{i}"`. The skipping, the ids and `split_words` are the same here (`split_words`
equals that splitter on text whose words are single-spaced, which both cleanings produce).

`clean_note` is NOT byte for byte DR.EHR's `clean_text` (nor CliniQ's: for CliniQ's corpus use
`drehr.evaluation.cliniq_corpus`). All three steps differ a little:
- tags: DR.EHR deletes `\[.*?\]` (one line, from a `[` to the next `]`) leaving nothing; here each
  innermost `[...]`, also across lines, becomes a space ("Dr.[**Name**]'s" -> "Dr. 's", DR.EHR "Dr.'s");
- blanks: DR.EHR replaces `___` (3 or more) by a space; here `__` (2 or more);
- runs: DR.EHR replaces a run of one non-word character (`(\W)\1+`) by a space ("-----" -> " ",
  "..." -> " "); here a run of punctuation keeps one character ("-----" -> "-", "...." -> ".").
Both then collapse all whitespace to single spaces and strip. The behaviour is kept (the notes of
emerge's datasets are cleaned with it).
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
    """Drop bracketed tags and `__` blanks, shorten punctuation runs, collapse whitespace (close to, not
    the same as, DR.EHR's `clean_text`: see the module docstring; not CliniQ's cleaning)."""
    text = _BRACKETS.sub(" ", text)
    text = _BLANKS.sub(" ", text)
    text = _PUNCT_RUN.sub(r"\1", text)
    return _SPACE.sub(" ", text).strip()


def split_words(text: str, size: int = 100, overlap: int = 10) -> list[str]:
    """Split `text` into pieces of `size` whitespace-separated words, `overlap` words shared.

    The last piece may be shorter; a text of at most `size` words gives one piece. On single-spaced
    words this is DR.EHR's and CliniQ's LangChain CharacterTextSplitter (word-count length); CliniQ's
    corpus keeps tabs inside pieces, which that splitter counts differently: see
    `drehr.evaluation.cliniq_corpus.split_cliniq_text`.
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
