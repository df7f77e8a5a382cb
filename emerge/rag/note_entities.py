"""Disease entities from notes, after EMERGE's released code (yhzhu99/EMERGE, commit c3a64a3).

What is EMERGE's, and where: the prompt `NER_PROMPT` is its `ner_prompt_tmpl`, verbatim, with its one
worked example (rag/call_qwen1.5.py, lines 11-41), filled with `.replace('{input}', piece)` as there
(line 150); the stay's text is split into pieces of 2,000 words (`window_thresh = 2000`, lines 138-144)
and at most 4 are sampled (`random.sample(records, 4)`, lines 147-148); the answer is JSON
`{"entities": [...]}`; entities that do not occur in the text are dropped and the rest are ordered by
how often they occur (rag/merge_splits.py, lines 17-25).

What differs, on purpose: the pieces are sampled with a seed per stay and kept in note order (EMERGE:
one global `random.seed(42)`, sampled order); "occurs" means at word boundaries, with any whitespace
between an entity's words (EMERGE: `text.lower().count(entity.lower()) > 0`, a substring, so "stroke"
counts inside "heatstroke"); de-duplication ignores case (EMERGE: `set(entities)`, exact strings); ties
in frequency are ordered by name. The prompt goes to a local LLM as one user turn through the model's
chat template (EMERGE posted it to its own Qwen server). Parsing and retries are ours
(`emerge.llm.structured.generate_entities`), passed in as `ask` so this module stays pure; kg's term
matcher can serve as a fallback or be unioned. Entities that `drop` rejects (the RAG stage passes
`KnowledgeGraph.is_qualifier_term`: "acute", "right", "position") are not diseases and are left out
(EMERGE keeps whatever the LLM answered).
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

# EMERGE's NER prompt, verbatim: `ner_prompt_tmpl` in yhzhu99/EMERGE rag/call_qwen1.5.py, lines 11-41
# (commit c3a64a3; its typos "motality", "eg." and the example's `","` between two reports kept). The
# example is a MIMIC radiology report and its answer. Only `{input}` is replaced (see `ner_prompt`).
NER_PROMPT = (
    "\n"
    "[Instruction]\n"
    "You are tasked with performing Named Entity Recognition (NER) specifically for diseases in "
    "a given medical case description to help with healthcare tasks (eg. readmission, motality, "
    "length of stay, drug prediction).  Follow the instructions below:\n"
    "1. Input: You will receive a medical case description in the [Input].\n"
    "2. NER Task: Focus on extracting the names of diseases as the target entity.\n"
    "3. Output: Provide the extracted disease names in JSON format.\n"
    "\n"
    "Ensure that the JSON output only includes the names of diseases mentioned in the provided "
    "[Input], excluding any additional content. The goal is to perform NER exclusively on "
    "disease names within the given text.\n"
    "\n"
    "Example:\n"
    "[Input]\n"
    " 1:19 pm abdomen ( supine and erect ) clip  reason : sbo medical condition : 63 year old "
    "woman with reason for this examination : sbo final report indication : 63-year-old woman "
    "with small bowel obstruction . findings : supine and upright abdominal radiographs are "
    "markedly limited due to the patient 's body habitus . on the supine radiograph , there is a "
    "large distended loop of bowel in the right mid-abdomen , which extends towards the left . "
    "this measures 8 cm . it is difficult to accurately ascertain whether this is small or large "
    "bowel . if this is large bowel , a volvulus should be considered . if this is small bowel , "
    "it is markedly dilated . other prominent loops of small bowel are seen . additionally on "
    "the supine radiograph centered lower , there is a small amount of gas centered over the "
    "left femoral head . this could represent an incarcerated left inguinal hernia . impression "
    ": limited radiographs due to patient 's body habitus . this is consistent with an "
    "obstruction which may or may not involve a large bowel volvulus . these findings were "
    "telephoned immediately to the emergency room physician , . , caring for the patient "
    '.","12:56 am chest ( portable ap ) clip reason : placement of cvl- r/o ptx , check position '
    "admitting diagnosis : small bowel obstruction medical condition : 63 year old woman with "
    "reason placement of cvl- r/o ptx , check position admitting diagnosis : small bowel "
    "obstruction medical condition : 63 year old woman with reason for this examination : "
    "placement of cvl- r/o ptx , check position final report indication : central venous line "
    "placement . views : single supine ap view , no prior studies . findings : the endotracheal "
    "tube is in satisfactory position approximately 4 cm from the carina . the right internal "
    "jugular central venous line is in satisfactory position with tip at the proximal superior "
    "vena cava . the study is limited by a lordotic position . low lung volumes are present "
    "bilaterally . the heart size appears enlarged . the pulmonary vascularity is difficult to "
    "assess . no pneumothorax is identified . no definite pulmonary infiltrates are present . "
    "the right costophrenic angle is sharp . the left costophrenic angle is excluded from the "
    "study . a nasogastric tube is seen which is looped within the fundus of the stomach with "
    "the tip pointing caudad within the distal stomach.\n"
    " \n"
    "[Answer]\n"
    "```json\n"
    "{\n"
    '"entities": ["small bowel obstruction",\n'
    '            "large bowel volvulus",\n'
    '            "incarcerated left inguinal hernia",\n'
    '            "lordotic position",\n'
    '            "low lung volumes",\n'
    '            "enlarged heart",\n'
    '            "pneumothorax"]\n'
    "}\n"
    "```\n"
    "\n"
    "[Input]\n"
    "{input}\n"
    "\n"
    "[Answer]\n"
)

AskFn = Callable[[list[str]], list[list[str] | None]]
Mode = Literal["llm", "matcher", "union"]


def ner_prompt(piece: str) -> str:
    """EMERGE's prompt for one piece of note text (`ner_prompt_tmpl.replace('{input}', r)` there)."""
    return NER_PROMPT.replace("{input}", piece)


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
    dropped_qualifiers: list[str] = field(default_factory=list)
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
    drop: Callable[[str], bool] | None = None,
) -> NoteEntities:
    """Entities of one stay's notes.

    Args:
        notes: the stay's note texts (in-window notes by default upstream).
        ask: prompts -> per prompt the parsed entity list, or None when nothing parsed after retries.
        mode: "llm" (EMERGE's NER prompt), "matcher" (kg term matcher only), "union" (both).
        match: lower-cased text -> matched KG surface forms; needed for "matcher" and "union".
        drop: entity -> True when it is no disease (a qualifier term such as "acute"); left out.
    """
    if mode not in ("llm", "matcher", "union"):
        raise UserInputError(
            f"unknown entity mode {mode!r}; valid here: llm, matcher, union "
            "(mode 'retriever' is emerge.rag.retriever_entities)"
        )
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
        if drop is not None and drop(entity):
            result.dropped_qualifiers.append(entity)
            continue
        n = literal_count(key, lower)
        if n:
            counted.append((entity, n))
        else:
            result.dropped_not_in_note.append(entity)
    counted.sort(key=lambda item: (-item[1], item[0].lower()))
    result.entities = counted
    result.source = mode
    return result
