"""`TermMatcher`: longest match of all KG surface forms in lower-cased text, at word boundaries.

After DR.EHR's stage-I "maximum forward matching" (data/stage_1/trie.py in zhao-zy15/DR.EHR), with a
looser boundary (DR.EHR starts a match only at an alphanumeric character after whitespace or "(" and ends
it before whitespace or punctuation other than "-"; here any non-alphanumeric character is a boundary),
on an Aho-Corasick automaton (pyahocorasick) instead of a hand-written Python trie: one pass over
the text finds every occurrence of every surface form; occurrences that do not start and end at a
word boundary are dropped; then, scanning left to right, the longest occurrence starting at the
earliest free position wins and the scan resumes after it (leftmost-longest, non-overlapping).
A word boundary is the text's edge or a character that is not a letter or digit.

`skip_qualifiers=True` leaves out the surface forms that name only modifier / qualifier terms ("acute",
"right", "position": `KnowledgeGraph.qualifier_ids`), so they neither become entities nor take a span a
disease could have matched; that is how the RAG stage matches disease entities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple

import ahocorasick

from foundation.errors import UserInputError
from foundation.terms import normalize_term

if TYPE_CHECKING:
    from kg.graph import KnowledgeGraph

__all__ = ["TermMatcher", "TermMatch"]


class TermMatch(NamedTuple):
    """One matched span: text[start:end] (lower-cased) == surface, naming the nodes `node_ids`."""

    node_ids: tuple[str, ...]
    surface: str
    start: int
    end: int


def _is_boundary(text: str, i: int) -> bool:
    """True when position i (between text[i-1] and text[i]) is a word boundary."""
    return i <= 0 or i >= len(text) or not text[i - 1].isalnum() or not text[i].isalnum()


class TermMatcher:
    """Find KG terms in text.

    Args:
        source: a `KnowledgeGraph` (its `surface_forms()`) or a mapping term -> node ids.
        min_length: surface forms shorter than this many characters are ignored (1 keeps all).
        skip_qualifiers: leave out the surface forms all of whose nodes are qualifiers (needs a graph).
    """

    def __init__(
        self,
        source: KnowledgeGraph | Mapping[str, Iterable[str]],
        min_length: int = 1,
        skip_qualifiers: bool = False,
    ) -> None:
        forms = source.surface_forms() if hasattr(source, "surface_forms") else source
        if not isinstance(forms, Mapping):
            raise UserInputError(
                f"TermMatcher needs a KnowledgeGraph or a dict term -> node ids, got {type(source).__name__}"
            )
        if skip_qualifiers:
            if not hasattr(source, "qualifier_ids"):
                raise UserInputError(
                    "TermMatcher(skip_qualifiers=True) needs a KnowledgeGraph (its is_a hierarchy tells "
                    "which terms are qualifiers), got a mapping"
                )
            qualifiers = source.qualifier_ids()
            forms = {t: ids for t, ids in forms.items() if not all(i in qualifiers for i in ids)}
        self._automaton = ahocorasick.Automaton()
        merged: dict[str, tuple[str, ...]] = {}
        for term, ids in forms.items():
            key = normalize_term(str(term))
            if len(key) < min_length or not key:
                continue
            merged[key] = tuple(dict.fromkeys([*merged.get(key, ()), *ids]))
        if not merged:
            raise UserInputError("TermMatcher got no surface forms; is the knowledge graph empty?")
        for key, ids in merged.items():
            self._automaton.add_word(key, (key, ids))
        self._automaton.make_automaton()
        self.num_terms = len(merged)

    def __len__(self) -> int:
        return self.num_terms

    def match(self, text: str) -> list[TermMatch]:
        """Leftmost-longest non-overlapping matches in `text.lower()`, in text order.

        Offsets refer to the lower-cased text, which has the same length as `text` for almost all
        inputs (a few Unicode characters change length when lower-cased)."""
        low = text.lower()
        candidates = []
        for end_idx, (key, ids) in self._automaton.iter(low):
            end = end_idx + 1
            start = end - len(key)
            if _is_boundary(low, start) and _is_boundary(low, end):
                candidates.append((start, -len(key), key, ids))
        candidates.sort()
        out: list[TermMatch] = []
        free = 0
        for start, neg_len, key, ids in candidates:
            if start >= free:
                out.append(TermMatch(ids, key, start, start - neg_len))
                free = start - neg_len
        return out

    def terms(self, text: str) -> list[str]:
        """The distinct matched surface forms, sorted (DR.EHR's per-chunk "entities")."""
        return sorted({m.surface for m in self.match(text)})

    def match_many(self, texts: Iterable[str]) -> list[list[TermMatch]]:
        return [self.match(t) for t in texts]
