"""The ICD-10-CM semantic search benchmark of arXiv:2401.01943 ("Generalist embedding models are
better at short-context clinical semantic search than specialized embedding models").

Each query is a rephrasing of an ICD-10-CM code's description; the retriever must return that code
among the candidates' descriptions (nearest neighbour; the paper uses Euclidean distance, which on
L2-normalized embeddings gives the same ranking as our cosine). Metrics, as the paper defines them:
- exact match: the top-1 code is the query's code;
- category match: the top-1 code shares the 3-character category (e.g. E11.9 and E11.65);
- CER: character error rate between the retrieved and the true description (jiwer.cer), averaged
  over queries (0 for an exact match).
The paper's 100 codes x 10 LLM rephrasings are not public: users pass their own JSONL
(`{"code", "description", "rephrasings": [...]}`), and by default we build queries from ICD-10-CM's
own inclusion terms (alternative wordings listed under a code), which need no LLM.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from drehr.index.encoder import Encoder
from foundation.artifacts import iter_json_objects
from foundation.errors import UserInputError

__all__ = [
    "ICD10Query",
    "load_rephrasings",
    "inclusion_term_queries",
    "candidate_codes",
    "icd10_metrics",
    "run_icd10_benchmark",
    "normalize_code",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ICD10Query:
    code: str  # without the dot, e.g. "E119"
    text: str


def _icd():
    import simple_icd_10_cm as icd

    return icd


def normalize_code(code: str) -> str:
    """An ICD-10-CM code without its dot, upper case; raise if simple_icd_10_cm does not know it."""
    icd = _icd()
    clean = str(code).strip().upper().replace(".", "")
    if not icd.is_valid_item(clean):
        raise UserInputError(f"{code!r} is not an ICD-10-CM code known to simple_icd_10_cm (e.g. 'E11.9').")
    return clean


def load_rephrasings(path: str | os.PathLike) -> tuple[list[ICD10Query], dict[str, str]]:
    """Queries and {code: description} from a JSONL of `{"code", "description", "rephrasings": [...]}`.

    A missing description is taken from ICD-10-CM; empty rephrasings are counted and skipped.
    """
    expected = '{"code", "description", "rephrasings": [...]}'
    queries, descriptions, empty = [], {}, 0
    for number, row in iter_json_objects(path, expected, "(rephrasings file)"):
        if "code" not in row or not isinstance(row.get("rephrasings"), list):
            raise UserInputError(f"{path}:{number}: expected {expected}.")
        code = normalize_code(row["code"])
        description = str(row.get("description") or _icd().get_description(code))
        if descriptions.setdefault(code, description) != description:
            raise UserInputError(
                f"{path}:{number}: code {code} was given another description before "
                f"({descriptions[code][:50]!r}, now {description[:50]!r}); keep one per code"
            )
        for text in row["rephrasings"]:
            if str(text).strip():
                queries.append(ICD10Query(code, str(text).strip()))
            else:
                empty += 1
    if empty:
        logger.warning("%s: %d empty rephrasing(s) skipped", path, empty)
    if not queries:
        raise UserInputError(f"{path} holds no rephrasings.")
    return queries, descriptions


def inclusion_term_queries(n_codes: int = 300, seed: int = 0) -> tuple[list[ICD10Query], dict[str, str]]:
    """Queries from ICD-10-CM inclusion terms: `n_codes` billable codes that have inclusion terms differing
    from their description, sampled with `seed`; every such term of a sampled code is a query."""
    icd = _icd()
    pool = []
    for code in icd.get_all_codes(with_dots=False):
        if not icd.is_leaf(code):
            continue
        description = icd.get_description(code)
        terms = [t for t in icd.get_inclusion_term(code) if t.strip().lower() != description.strip().lower()]
        if terms:
            pool.append((code, description, terms))
    if n_codes <= 0:
        raise UserInputError(f"n_codes must be positive, got {n_codes}")
    chosen = random.Random(seed).sample(pool, min(n_codes, len(pool)))
    queries = [ICD10Query(code, term) for code, _, terms in chosen for term in terms]
    return queries, {code: description for code, description, _ in chosen}


def candidate_codes(mode: Literal["file", "billable"], descriptions: dict[str, str]) -> dict[str, str]:
    """Candidates to retrieve from: the query set's own codes ("file") or every billable code."""
    if mode == "file":
        return dict(descriptions)
    if mode == "billable":
        icd = _icd()
        return {c: icd.get_description(c) for c in icd.get_all_codes(with_dots=False) if icd.is_leaf(c)}
    raise UserInputError(f"candidates {mode!r} unknown; expected 'file' or 'billable'.")


def icd10_metrics(
    true_codes: Sequence[str],
    predicted_codes: Sequence[str],
    true_descriptions: Sequence[str],
    predicted_descriptions: Sequence[str],
) -> dict[str, float]:
    """Exact match, category match (first 3 characters of the dot-less code) and mean per-query CER."""
    import jiwer

    if not len(true_codes) == len(predicted_codes) == len(true_descriptions) == len(predicted_descriptions):
        raise ValueError("all four sequences must have the same length")
    exact = np.mean([t == p for t, p in zip(true_codes, predicted_codes, strict=True)])
    category = np.mean([t[:3] == p[:3] for t, p in zip(true_codes, predicted_codes, strict=True)])
    cer = np.mean([jiwer.cer(t, p) for t, p in zip(true_descriptions, predicted_descriptions, strict=True)])
    return {
        "exact_match": float(exact),
        "category_match": float(category),
        "cer": float(cer),
        "n_queries": len(true_codes),
    }


def run_icd10_benchmark(
    encoder: Encoder, queries: Sequence[ICD10Query], candidates: dict[str, str], batch_size: int = 64
) -> dict[str, float]:
    """Encode candidates' descriptions and queries, take each query's nearest description, score it."""
    missing = sorted({q.code for q in queries} - set(candidates))
    if missing:
        raise UserInputError(
            f"{len(missing)} query code(s) are not among the candidates (e.g. {missing[:3]}); "
            f"use candidates 'file' or 'billable'."
        )
    codes = list(candidates)
    descriptions = [candidates[c] for c in codes]
    doc = encoder.encode(descriptions, batch_size=batch_size, show_progress_bar=True)  # [n_codes, d]
    qv = encoder.encode_queries([q.text for q in queries], batch_size=batch_size)  # [n_queries, d]
    best = []
    for start in range(0, len(qv), 1024):
        best.extend(np.argmax(qv[start : start + 1024] @ doc.T, axis=1).tolist())  # first max = lower index
    predicted = [codes[i] for i in best]
    out = icd10_metrics(
        [q.code for q in queries],
        predicted,
        [candidates[q.code] for q in queries],
        [candidates[p] for p in predicted],
    )
    out["n_candidates"] = len(codes)
    return out
