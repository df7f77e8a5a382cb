"""DR.EHR stage I: knowledge injection from a knowledge graph.

For each chunk: find KG terms by longest match (the KG's term matcher), optionally let an LLM expand
abbreviations (an expansion is kept only when the abbreviation stands alone in the chunk and the
expansion is a KG term), then for every matched concept add as positives the matched term, up to 2
synonyms, up to 2 hypernyms (2 terms each) and up to 2 related concepts (2 terms each). Each positive
carries the label of the concept it names, so the loss can tell a false negative (the same concept
among another chunk's positives) from a real one. The fixed number of positives per chunk is
sampled from this pool by the training dataset each epoch.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from drehr.chunking import Chunk
from drehr.data.examples import TrainingExample, concept_label
from foundation.errors import UserInputError

__all__ = [
    "Stage1Config",
    "KnowledgeSource",
    "CachedKnowledge",
    "TermSpan",
    "abbreviation_prompt",
    "parse_abbreviations",
    "build_stage1_examples",
]

logger = logging.getLogger(__name__)


class TermSpan(Protocol):
    node_ids: Sequence[str]
    surface: str


class KnowledgeSource(Protocol):
    """What stage I needs of a knowledge graph (kg.KnowledgeGraph provides it)."""

    def name(self, node_id: str) -> str: ...
    def synonyms(self, node_id: str) -> list[str]: ...
    def hypernyms(self, node_id: str) -> list[str]: ...
    def related(self, node_id: str) -> list[str]: ...
    def lookup(self, term: str) -> list[str]: ...


class CachedKnowledge:
    """A `KnowledgeSource` that remembers the last `size` answers of each query of another one.

    Chunks name the same concepts again and again (a million MIMIC chunks, a few thousand distinct
    concepts), and a graph query costs tens of microseconds (kg.KnowledgeGraph walks its edge arrays):
    remembered, stage I runs about 3x faster. Answers are tuples, so no caller can change them.
    """

    def __init__(self, kg: KnowledgeSource, size: int = 1 << 16) -> None:
        self.source = kg
        self.name = lru_cache(maxsize=size)(kg.name)
        self.synonyms = lru_cache(maxsize=size)(lambda node_id: tuple(kg.synonyms(node_id)))
        self.hypernyms = lru_cache(maxsize=size)(lambda node_id: tuple(kg.hypernyms(node_id)))
        self.related = lru_cache(maxsize=size)(lambda node_id: tuple(kg.related(node_id)))
        self.lookup = lru_cache(maxsize=size)(lambda term: tuple(kg.lookup(term)))


@dataclass(frozen=True)
class Stage1Config:
    """How many KG expansions each matched concept contributes (DR.EHR's defaults)."""

    synonyms: int = 2
    hypernyms: int = 2
    related: int = 2
    terms_per_concept: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("synonyms", "hypernyms", "related", "terms_per_concept"):
            if getattr(self, name) < 0:
                raise UserInputError(f"Stage1Config.{name} must be >= 0, got {getattr(self, name)}")


_ABBREV_PROMPT = (
    "Here is a piece of a clinical note:\n\n{text}\n\n"
    "List every medical abbreviation used in it with its full form, one per line as "
    '"ABBREVIATION: full form". If there are none, answer NA.'
)
_ABBREV_LINE = re.compile(
    r"^\s*(?:[-*\u2022]|\d+[.)])?\s*([A-Za-z][A-Za-z0-9/&+-]{0,9})\s*(?::|=|-|\u2013)\s*(.+?)\s*$"
)


def abbreviation_prompt(text: str) -> str:
    return _ABBREV_PROMPT.format(text=text)


def parse_abbreviations(answer: str) -> list[tuple[str, str]]:
    """(abbreviation, expansion) pairs from lines like "HTN: hypertension" or "- CHF - heart failure"."""
    pairs = []
    for line in answer.splitlines():
        m = _ABBREV_LINE.match(line)
        if m:
            expansion = re.sub(r"\s*\([^)]*\)", "", m.group(2)).strip(" .;,\"'")
            if expansion:
                pairs.append((m.group(1), expansion))
    return pairs


def _stands_alone(abbreviation: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(abbreviation)}(?![\w-])", text) is not None


def _sample(rng: random.Random, items: Sequence[str], k: int) -> list[str]:
    items = list(dict.fromkeys(items))
    return items if len(items) <= k else rng.sample(items, k)


def _terms(kg: KnowledgeSource, node_id: str) -> list[str]:
    return list(dict.fromkeys([kg.name(node_id), *kg.synonyms(node_id)]))


def _expand(
    kg: KnowledgeSource, node_id: str, surface: str, cfg: Stage1Config, rng: random.Random
) -> list[tuple[str, str]]:
    """(positive text, concept id) pairs contributed by one matched concept."""
    out = [(surface, node_id)]
    synonyms = [t for t in _terms(kg, node_id) if t.lower() != surface.lower()]
    out += [(t, node_id) for t in _sample(rng, synonyms, cfg.synonyms)]
    for group, k in ((kg.hypernyms(node_id), cfg.hypernyms), (kg.related(node_id), cfg.related)):
        for other in _sample(rng, group, k):
            out += [(t, other) for t in _sample(rng, _terms(kg, other), cfg.terms_per_concept)]
    return out


def build_stage1_examples(
    chunks: Iterable[Chunk],
    kg: KnowledgeSource,
    match: Callable[[str], Sequence[TermSpan]],
    cfg: Stage1Config = Stage1Config(),
    expand_abbreviations: Callable[[list[str]], list[str]] | None = None,
    batch_size: int = 16,
    stats: dict[str, int] | None = None,
) -> Iterator[TrainingExample]:
    """Yield one stage I example per chunk that mentions at least one KG concept.

    `match(lowercased_text)` returns the longest-match term spans (kg's TermMatcher). With
    `expand_abbreviations` (an LLM as `list[str] -> list[str]`), each chunk is also asked for its
    abbreviations, and valid expansions add their concepts. Sampling is seeded per chunk, so reruns
    give identical examples. `stats` (if given) receives counts of chunks, matches and skips.
    The graph's answers are remembered (`CachedKnowledge`; pass one to share it between calls).
    """
    kg = kg if isinstance(kg, CachedKnowledge) else CachedKnowledge(kg)
    stats = stats if stats is not None else {}
    for key in (
        "chunks",
        "with_concepts",
        "without_concepts",
        "concepts",
        "abbreviations_kept",
        "abbreviations_rejected",
    ):
        stats.setdefault(key, 0)
    buffer: list[Chunk] = []

    def flush() -> Iterator[TrainingExample]:
        extra: list[list[tuple[str, str]]] = [[] for _ in buffer]
        if expand_abbreviations is not None and buffer:
            answers = expand_abbreviations([abbreviation_prompt(c.text) for c in buffer])
            for i, (chunk, answer) in enumerate(zip(buffer, answers, strict=True)):
                for abbreviation, expansion in parse_abbreviations(answer):
                    nodes = kg.lookup(expansion.lower())
                    if nodes and _stands_alone(abbreviation, chunk.text):
                        extra[i] += [(abbreviation, n) for n in nodes[:1]]
                        stats["abbreviations_kept"] += 1
                    else:
                        stats["abbreviations_rejected"] += 1
        for chunk, abbrevs in zip(buffer, extra, strict=True):
            example = _chunk_example(chunk, kg, match, cfg, abbrevs, stats)
            if example is not None:
                yield example
        buffer.clear()

    for chunk in chunks:
        stats["chunks"] += 1
        buffer.append(chunk)
        if len(buffer) >= batch_size:
            yield from flush()
    yield from flush()
    logger.debug("stage I: %s", stats)


def _chunk_example(
    chunk: Chunk,
    kg: KnowledgeSource,
    match: Callable[[str], Sequence[TermSpan]],
    cfg: Stage1Config,
    abbrevs: list[tuple[str, str]],
    stats: dict[str, int],
) -> TrainingExample | None:
    rng = random.Random(f"{cfg.seed}:{chunk.chunk_id}")
    found: dict[str, str] = {}  # concept id -> surface form as matched
    for span in match(chunk.text.lower()):
        for node_id in span.node_ids[:1]:  # an ambiguous surface form counts for its first concept
            found.setdefault(node_id, span.surface)
    for surface, node_id in abbrevs:
        found.setdefault(node_id, surface)
    if not found:
        stats["without_concepts"] += 1
        return None
    stats["with_concepts"] += 1
    stats["concepts"] += len(found)
    positives: dict[str, tuple[str, str]] = {}  # lower-cased text -> (text, concept id); first wins
    for node_id, surface in found.items():
        for text, concept in _expand(kg, node_id, surface, cfg, rng):
            if text.strip():
                positives.setdefault(text.lower(), (text, concept))
    texts = tuple(text for text, _ in positives.values())
    labels = tuple(concept_label(concept) for _, concept in positives.values())
    return TrainingExample(chunk.text, texts, labels, id=chunk.chunk_id)
