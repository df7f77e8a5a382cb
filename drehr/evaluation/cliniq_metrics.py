"""CliniQ's metrics, reproducing the protocol of its eval.py (github.com/zhao-zy15/CliniQ, Apache-2.0).

Every function takes a binary relevance array `rel` [n] in ranked order (best first). What we copy
from eval.py, and why it matters:

- `reciprocal_rank`: no cut-off (eval.py's `calculate_mrr` walks the whole ranking).
- `ndcg_cliniq(rel, k)`: DCG@k divided by the DCG of the *retrieved* top-k relevances sorted
  (eval.py's `ideal_dcg_at_k(relevances)` where relevances come from `predicted_ranks[:k]`), so a
  query with one relevant chunk at rank 3 and ten more not retrieved scores 1.0 at k=10. This is not
  standard nDCG (whose ideal ranks all relevant chunks first): it is what the paper reports for the
  multi-patient NDCG@10. With k = the full list (single-patient), it equals standard nDCG.
- `average_precision(rel, n_relevant)`: divides by all relevant chunks, retrieved or not.
- `recall_at_k(rel, k, n_relevant)`: hits in the top k over all relevant chunks.
- `single_patient_metrics`: one (query, patient) pair; skipped (None) when the patient has fewer than
  5 chunks or all of them are relevant. Per match type t: drop the patient's relevant chunks of other
  types, then skip if none of type t remain or only type-t chunks remain (eval.py does not recheck
  the 5-chunk rule after dropping), else the same three metrics.
All values are averaged over the pooled pairs (single-patient) or queries (multi-patient).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "reciprocal_rank",
    "dcg",
    "ndcg_cliniq",
    "average_precision",
    "recall_at_k",
    "multi_patient_metrics",
    "single_patient_metrics",
    "CliniQAccumulator",
    "MIN_PATIENT_CHUNKS",
]

MIN_PATIENT_CHUNKS = 5


def reciprocal_rank(rel: np.ndarray) -> float:
    """1 / rank of the first relevant item (no cut-off); 0 if none."""
    hits = np.flatnonzero(np.asarray(rel))
    return 1.0 / (hits[0] + 1) if len(hits) else 0.0


def dcg(gains: np.ndarray) -> float:
    """sum_i gains[i] / log2(i + 2), i from 0."""
    gains = np.asarray(gains, dtype=np.float64)
    return float(np.sum(gains / np.log2(np.arange(2, gains.size + 2))))


def ndcg_cliniq(rel: np.ndarray, k: int) -> float:
    """CliniQ's NDCG@k: DCG of the top k over the DCG of the same top-k relevances sorted; 0 if no hit."""
    top = np.asarray(rel, dtype=np.float64)[:k]
    if not top.any():
        return 0.0
    return dcg(top) / dcg(np.sort(top)[::-1])


def average_precision(rel: np.ndarray, n_relevant: int) -> float:
    """Sum of precision at each relevant rank, divided by `n_relevant` (all relevant items)."""
    rel = np.asarray(rel, dtype=bool)
    if n_relevant <= 0:
        return 0.0
    ranks = np.flatnonzero(rel) + 1
    return float(np.sum(np.arange(1, len(ranks) + 1) / ranks) / n_relevant)


def recall_at_k(rel: np.ndarray, k: int, n_relevant: int) -> float:
    """Relevant items in the top k over `n_relevant`; 0 when there are none."""
    return float(np.asarray(rel, dtype=bool)[:k].sum() / n_relevant) if n_relevant > 0 else 0.0


def multi_patient_metrics(rel: np.ndarray, n_relevant: int) -> dict[str, float]:
    """MRR (no cut-off), CliniQ NDCG@10 and Recall@100 of one query's ranking over the whole corpus."""
    return {
        "mrr": reciprocal_rank(rel),
        "ndcg@10": ndcg_cliniq(rel, 10),
        "recall@100": recall_at_k(rel, 100, n_relevant),
    }


def _three(rel: np.ndarray) -> dict[str, float]:
    return {
        "mrr": reciprocal_rank(rel),
        "ndcg": ndcg_cliniq(rel, len(rel)),
        "map": average_precision(rel, int(rel.sum())),
    }


def single_patient_metrics(types: Sequence[str]) -> dict[str, dict[str, float]] | None:
    """Metrics of one (query, patient) pair from the match type of each of the patient's chunks in
    ranked order ("" for a chunk that is not relevant). Returns {"overall": {...}, "<type>": {...}},
    or None when the pair is skipped (fewer than 5 chunks, or all relevant)."""
    types = np.asarray(types, dtype=object)
    rel = types != ""
    if len(types) < MIN_PATIENT_CHUNKS or rel.all():
        return None
    out = {"overall": _three(rel)}
    for match in sorted(set(types[rel])):
        keep = (types == match) | ~rel  # drop relevant chunks of the other types
        sub = types[keep] == match
        if sub.all():
            continue
        out[match] = _three(sub)
    return out


@dataclass
class CliniQAccumulator:
    """Pools per-pair and per-query values and averages them (the paper's "pooled" means)."""

    single: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    multi: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def add_single(self, query_set: str, values: dict[str, dict[str, float]]) -> None:
        for group, metrics in values.items():
            for name, value in metrics.items():
                self.single[group][name].append(value)
        for name, value in values["overall"].items():
            self.single[f"{query_set}/overall"][name].append(value)

    def add_multi(self, query_set: str, values: dict[str, float]) -> None:
        for group in ("all", query_set):
            for name, value in values.items():
                self.multi[group][name].append(value)

    def summary(self) -> dict[str, dict]:
        """{"single_patient": {group: {metric: mean, "n": pairs}}, "multi_patient": {...}}."""

        def means(table):
            return {
                g: {**{m: float(np.mean(v)) for m, v in ms.items()}, "n": len(next(iter(ms.values())))}
                for g, ms in table.items()
            }

        return {"single_patient": means(self.single), "multi_patient": means(self.multi)}
