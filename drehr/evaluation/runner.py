"""Run a scorer over a `RetrievalDataset` and compute CliniQ's metrics and the standard ones.

For each query the whole corpus is scored (exhaustive cosine, as CliniQ evaluates), giving:
- the multi-patient ranking (all chunks) -> MRR / CliniQ NDCG@10 / Recall@100;
- for each patient with a relevant chunk, that patient's chunks ranked by the same scores -> the
  single-patient metrics, overall and per match type (only when the dataset has match types);
- the top 100 -> standard metrics (pytrec_eval).
Ties are ordered by corpus position (a stable sort), so results are deterministic; CliniQ's eval.py
uses numpy's default (unstable) argsort, which only matters for exactly tied scores.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl
from tqdm.auto import tqdm

from drehr.evaluation.cliniq_metrics import CliniQAccumulator, multi_patient_metrics, single_patient_metrics
from drehr.evaluation.dataset import RetrievalDataset
from drehr.evaluation.scorers import Scorer
from drehr.evaluation.standard_metrics import standard_metrics
from drehr.index.topk import rank_all, top_k

__all__ = ["evaluate_scorer", "RUN_DEPTH"]

logger = logging.getLogger(__name__)

RUN_DEPTH = 100


def evaluate_scorer(scorer: Scorer, dataset: RetrievalDataset, fit: bool = True) -> dict[str, Any]:
    """{"cliniq": {...} (if the dataset has match types), "standard": {...}} for `scorer` on `dataset`."""
    corpus_ids = dataset.corpus["_id"].to_list()
    if fit:
        scorer.fit(dataset.corpus["text"].to_list())
    row_of = {cid: i for i, cid in enumerate(corpus_ids)}
    grouped = (
        dataset.corpus.select("patient_id")
        .with_row_index("row")
        .group_by("patient_id", maintain_order=True)
        .agg(pl.col("row"))
    )
    patient_rows = {p: np.asarray(r, np.int64) for p, r in grouped.iter_rows()}
    patient_of_row = dataset.corpus["patient_id"].to_list()
    set_of = {q: name for name, qids in dataset.query_sets.items() for q in qids}
    cliniq = bool(dataset.match_types)
    acc = CliniQAccumulator()
    qids = dataset.evaluated_queries
    skipped = len(dataset.queries) - len(qids)
    if skipped:
        logger.info("%d quer(ies) have no relevant chunk in the corpus and are not evaluated", skipped)
    run: dict[str, dict[str, float]] = {}
    done = 0
    with tqdm(total=len(qids), desc=f"evaluating {scorer.name}", unit="query", disable=None) as bar:
        for block in scorer.scores([dataset.queries[q] for q in qids]):
            for qid, scores in zip(qids[done : done + len(block)], block, strict=True):
                cols, values = top_k(scores[None, :], RUN_DEPTH)
                run[qid] = {corpus_ids[c]: float(v) for c, v in zip(cols[0], values[0], strict=True)}
                if cliniq:
                    _cliniq_query(
                        acc,
                        set_of.get(qid, "all"),
                        scores,
                        dataset.match_types[qid],
                        row_of,
                        patient_rows,
                        patient_of_row,
                    )
            done += len(block)
            bar.update(len(block))
    out: dict[str, Any] = {"scorer": scorer.name, "n_queries": len(qids), "n_chunks": len(corpus_ids)}
    if cliniq:
        out["cliniq"] = acc.summary()
    out["standard"] = standard_metrics({q: dataset.qrels[q] for q in qids}, run)
    return out


def _cliniq_query(
    acc: CliniQAccumulator,
    query_set: str,
    scores: np.ndarray,
    types: dict[str, str],
    row_of: dict[str, int],
    patient_rows: dict[str, np.ndarray],
    patient_of_row: list[str],
) -> None:
    """Add one query's multi-patient and single-patient values to `acc`."""
    type_of_row = {row_of[c]: t for c, t in types.items()}
    relevant = np.fromiter(type_of_row, np.int64, len(type_of_row))
    ranking = rank_all(scores)
    acc.add_multi(query_set, multi_patient_metrics(np.isin(ranking, relevant), len(relevant)))
    for patient in dict.fromkeys(patient_of_row[r] for r in relevant):
        rows = patient_rows[patient]
        ranked = rows[rank_all(scores[rows])]
        values = single_patient_metrics([type_of_row.get(int(r), "") for r in ranked])
        if values is not None:
            acc.add_single(query_set, values)
