"""The functions behind `emerge retriever eval` and `eval-icd10`: read inputs, run, return JSON-able dicts.

(`emerge retriever index` builds a retriever folder: `drehr.index.build_chunk_index`.)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from drehr.evaluation.beir import read_beir
from drehr.evaluation.cliniq_data import read_cliniq
from drehr.evaluation.icd10 import (
    candidate_codes,
    inclusion_term_queries,
    load_rephrasings,
    run_icd10_benchmark,
)
from drehr.evaluation.runner import evaluate_scorer
from drehr.evaluation.scorers import BM25Scorer, DenseScorer, FusionScorer
from drehr.index.encoder import Encoder
from foundation.errors import UserInputError

__all__ = ["detect_format", "run_retrieval_eval", "run_icd10_eval"]

logger = logging.getLogger(__name__)


def detect_format(directory: Path) -> Literal["beir", "cliniq"]:
    """'cliniq' when CliniQ query files are present, 'beir' when queries.jsonl is."""
    if any((directory / f"queries_{s}.jsonl").is_file() for s in ("disease", "procedure", "drug")):
        return "cliniq"
    if (directory / "queries.jsonl").is_file():
        return "beir"
    raise UserInputError(
        f"{directory} holds neither queries.jsonl (BEIR) nor queries_<set>.jsonl (CliniQ); "
        f"pass the dataset folder, or --format."
    )


def run_retrieval_eval(
    encoder: Encoder,
    data: str | os.PathLike,
    fmt: Literal["beir", "cliniq", "auto"] = "auto",
    batch_size: int = 64,
    baselines: bool = True,
    split: str = "test",
) -> dict[str, Any]:
    """Evaluate `encoder` (and BM25, BM25+dense RRF when `baselines`) on a BEIR or CliniQ folder."""
    root = Path(data)
    if not root.is_dir():
        raise UserInputError(f"--data {root} is not a folder.")
    fmt = detect_format(root) if fmt == "auto" else fmt
    dataset = read_cliniq(root) if fmt == "cliniq" else read_beir(root, split)
    texts = dataset.corpus["text"].to_list()
    dense = DenseScorer(encoder, batch_size=batch_size)
    dense.fit(texts)
    results = {
        "data": str(root),
        "format": fmt,
        "encoder": encoder.fingerprint,
        "dense": evaluate_scorer(dense, dataset, fit=False),
    }
    if baselines:
        bm25 = BM25Scorer()
        bm25.fit(texts)
        results["bm25"] = evaluate_scorer(bm25, dataset, fit=False)
        results["bm25+dense_rrf"] = evaluate_scorer(
            FusionScorer([bm25, dense], already_fitted=True), dataset, fit=False
        )
    return results


def run_icd10_eval(
    encoder: Encoder,
    rephrasings: str | os.PathLike | None = None,
    candidates: Literal["file", "billable"] = "file",
    limit: int = 300,
    seed: int = 0,
    batch_size: int = 64,
) -> dict[str, Any]:
    """The ICD-10-CM benchmark on a rephrasings file, or on `limit` codes' inclusion terms."""
    if rephrasings is not None:
        queries, descriptions = load_rephrasings(rephrasings)
        source = str(rephrasings)
    else:
        queries, descriptions = inclusion_term_queries(limit, seed)
        source = f"ICD-10-CM inclusion terms ({len(descriptions)} codes, seed {seed})"
    result = run_icd10_benchmark(encoder, queries, candidate_codes(candidates, descriptions), batch_size)
    return {"queries": source, "candidates": candidates, "encoder": encoder.fingerprint, **result}
