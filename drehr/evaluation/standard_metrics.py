"""Standard IR metrics (nDCG@10, MAP@100, Recall@k, MRR@10) with pytrec_eval, the C++ port of trec_eval.

pytrec_eval is used rather than ranx because ranx compiles its numba kernels on first use (~45 s on
2 cores), which dominates a small evaluation. trec_eval breaks score ties by document id (descending).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["standard_metrics", "DEFAULT_CUTOFFS"]

DEFAULT_CUTOFFS = {"ndcg": 10, "map": 100, "recall": (10, 100), "mrr": 10}


def standard_metrics(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]]
) -> dict[str, float]:
    """Mean nDCG@10, MAP@100, Recall@10/@100 and MRR@10 over the queries of `qrels`.

    `run`: query id -> {doc id: score} holding at least each query's top 100. A query of `qrels`
    missing from `run` scores 0 (trec_eval would skip it; we count it, as BEIR does).
    """
    import pytrec_eval

    qrels = {q: {d: int(r) for d, r in docs.items()} for q, docs in qrels.items()}
    full = {q: {d: float(s) for d, s in run.get(q, {}).items()} or {"__none__": 0.0} for q in qrels}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "map_cut.100", "recall.10,100"})
    per_query = evaluator.evaluate(full)
    # MRR@10: reciprocal rank over each query's top 10 only.
    top10 = {q: dict(sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))[:10]) for q, docs in full.items()}
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    return {
        "ndcg@10": float(np.mean([v["ndcg_cut_10"] for v in per_query.values()])),
        "map@100": float(np.mean([v["map_cut_100"] for v in per_query.values()])),
        "recall@10": float(np.mean([v["recall_10"] for v in per_query.values()])),
        "recall@100": float(np.mean([v["recall_100"] for v in per_query.values()])),
        "mrr@10": float(np.mean([v["recip_rank"] for v in rr.values()])),
        "n_queries": len(qrels),
    }
