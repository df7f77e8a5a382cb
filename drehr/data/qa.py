"""The QA recipe (Essen, JMIR 2026): an LLM writes questions that each note section answers.

Notes are split into sections at their headers ("History of Present Illness:", "Brief Hospital
Course:", ...); each section long enough becomes an anchor whose positives are the generated
questions. Train with in-batch InfoNCE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from drehr.chunking import clean_note
from drehr.data.llm_runner import PromptUnit

__all__ = ["split_sections", "qa_prompt", "parse_questions", "qa_units"]

# A header is a short capitalised phrase at the start of a line, ending with a colon.
_HEADER = re.compile(r"^[ \t]*([A-Z][A-Za-z0-9 /&(),'-]{2,60}):[ \t]*", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)]|Q\d*[:.)])\s*", re.IGNORECASE)

_PROMPT = (
    'Here is the "{title}" section of a patient\'s clinical note:\n\n{text}\n\n'
    "Write {n} different questions that a clinician might ask and that this section answers. "
    "One question per line. Do not answer them."
)


def split_sections(note: str, min_words: int = 20, max_words: int = 300) -> list[tuple[str, str]]:
    """(title, cleaned text) per section; text before the first header is titled "Note".

    Sections under `min_words` words are dropped; longer ones are cut to `max_words` words.
    """
    parts: list[tuple[str, str]] = []
    matches = list(_HEADER.finditer(note))
    starts = [(m.start(), m.end(), m.group(1).strip()) for m in matches]
    if not starts or starts[0][0] > 0:
        first_end = starts[0][0] if starts else len(note)
        parts.append(("Note", note[:first_end]))
    for i, (_, body_start, title) in enumerate(starts):
        body_end = starts[i + 1][0] if i + 1 < len(starts) else len(note)
        parts.append((title, note[body_start:body_end]))
    out = []
    for title, body in parts:
        words = clean_note(body).split()
        if len(words) >= min_words:
            out.append((title, " ".join(words[:max_words])))
    return out


def qa_prompt(title: str, text: str, n: int = 3) -> str:
    return _PROMPT.format(title=title, text=text, n=n)


def parse_questions(answer: str) -> list[str]:
    """Questions from an LLM answer: one per line, bullets and numbers removed, ending with "?"."""
    out: dict[str, str] = {}
    for line in answer.splitlines():
        q = _BULLET.sub("", line).strip().strip("\"'")
        if q.endswith("?") and len(q.split()) >= 3:
            out.setdefault(q.lower(), q)
    return list(out.values())


def qa_units(
    notes: Iterable[tuple[str, str]], n_questions: int = 3, min_words: int = 20, max_words: int = 300
) -> Iterable[PromptUnit]:
    """One unit per section of each `(note_id, text)`; unit id `<note_id>_s<i>`."""
    for note_id, text in notes:
        for i, (title, body) in enumerate(split_sections(text, min_words, max_words)):
            yield PromptUnit(f"{note_id}_s{i}", body, (qa_prompt(title, body, n_questions),))
