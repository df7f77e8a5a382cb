"""A retrieval test collection in memory: corpus, queries, graded qrels, optional match types.

Readers (`beir.py`, `cliniq_data.py`) build it; `clean_qrels` drops judgments that name an unknown
query or chunk, counts them and warns (a qrels file from a slightly different corpus build must not
crash an evaluation, but the user must know how much of it was unusable).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from foundation.errors import UserInputError

__all__ = ["RetrievalDataset", "clean_qrels", "patient_of_chunk"]

logger = logging.getLogger(__name__)


def patient_of_chunk(chunk_id: str) -> str:
    """The patient (or admission) of a chunk id `<note or admission id>_<i>`: the part before the last "_".

    CliniQ's ids are `<HADM_ID>_<i>` and its eval.py takes `id.split('_')[0]`; for numeric HADM_IDs the
    two agree, and splitting at the last "_" also works for note ids that contain "_".
    """
    head, sep, _ = chunk_id.rpartition("_")
    if not sep or not head:
        raise UserInputError(
            f"chunk id {chunk_id!r} has no '<patient>_<i>' form; give the corpus a "
            f"patient_id column or ids like 123456_0."
        )
    return head


@dataclass(frozen=True)
class RetrievalDataset:
    """`corpus`: polars table (_id, text, patient_id); `queries`: id -> text; `qrels`: query id ->
    {chunk id: relevance > 0}; `match_types`: query id -> {chunk id: type} (CliniQ only);
    `query_sets`: name -> query ids (CliniQ's disease/procedure/drug, or {"all": ...})."""

    name: str
    corpus: pl.DataFrame
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    match_types: dict[str, dict[str, str]] = field(default_factory=dict)
    query_sets: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in ("_id", "text", "patient_id") if c not in self.corpus.columns]
        if missing:
            raise UserInputError(f"corpus of {self.name} lacks column(s) {missing}")
        if self.corpus.height == 0:
            raise UserInputError(f"corpus of {self.name} is empty; check the corpus file.")
        if not self.qrels:
            raise UserInputError(
                f"{self.name} has no usable relevance judgments (qrels); nothing to evaluate."
            )

    @property
    def evaluated_queries(self) -> list[str]:
        """Queries with at least one relevant chunk, in file order."""
        return [q for q in self.queries if q in self.qrels]


def clean_qrels(
    raw: Mapping[str, Mapping[str, int]], query_ids: set[str], chunk_ids: set[str], source: str
) -> dict[str, dict[str, int]]:
    """Keep judgments with a known query, a known chunk and relevance > 0; warn with counts otherwise."""
    unknown_q = unknown_c = 0
    kept: dict[str, dict[str, int]] = {}
    for qid, docs in raw.items():
        if qid not in query_ids:
            unknown_q += len(docs)
            continue
        for cid, rel in docs.items():
            if cid not in chunk_ids:
                unknown_c += 1
            elif rel > 0:
                kept.setdefault(qid, {})[cid] = int(rel)
    if unknown_q:
        logger.warning(
            "%s: %d judgment(s) name a query id absent from the queries file; ignored", source, unknown_q
        )
    if unknown_c:
        logger.warning(
            "%s: %d judgment(s) name a chunk id absent from the corpus; ignored (was the corpus "
            "built the same way as the qrels?)",
            source,
            unknown_c,
        )
    return kept
