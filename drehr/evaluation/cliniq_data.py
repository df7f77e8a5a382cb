"""Reader for CliniQ (Zhao et al., arXiv:2502.06252; github.com/zhao-zy15/CliniQ, Apache-2.0).

Folder layout (as in the CliniQ repository's `benchmark/`):
- `queries_{disease,procedure,drug}.jsonl`: `{"_id", "text"}` per line;
- `qrels_{disease,procedure,drug}.tsv`: NO header, `query_id<TAB><HADM_ID>_<i><TAB>match_type`, match type
  one of string / synonym / abbreviation / hyponym / implication;
- `corpus.jsonl`: `{"_id": "<HADM_ID>_<i>", "text"}`, rebuilt by the user from MIMIC-III's NOTEEVENTS
  with `emerge retriever build-cliniq` (drehr.evaluation.cliniq_corpus: CliniQ's preprocess.py, byte for
  byte). The "patient" of a chunk is its admission, the id before the last "_" (CliniQ's eval.py takes
  the part before the first "_"; the same for numeric HADM_IDs).

A (query, chunk) pair listed twice keeps its first match type (CliniQ's eval.py would count it twice
in the recall and AP denominators; we count each chunk once and warn).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import polars as pl

from drehr.evaluation.beir import corpus_table, read_jsonl_ids, unique_texts
from drehr.evaluation.dataset import RetrievalDataset, clean_qrels
from foundation.errors import UserInputError

__all__ = ["read_cliniq", "read_cliniq_qrels", "MATCH_TYPES", "QUERY_SETS"]

logger = logging.getLogger(__name__)

MATCH_TYPES = ("string", "synonym", "abbreviation", "hyponym", "implication")
QUERY_SETS = ("disease", "procedure", "drug")


def read_cliniq_qrels(path: Path) -> list[tuple[str, str, str]]:
    """(query id, chunk id, match type) rows of a header-less CliniQ qrels file, validated."""
    if not path.is_file():
        raise UserInputError(
            f"CliniQ qrels file {path} not found; download qrels_*.tsv from "
            f"github.com/zhao-zy15/CliniQ (benchmark/) into the data folder."
        )
    table = pl.read_csv(path, separator="\t", has_header=False, infer_schema=False, quote_char=None)
    if table.width != 3:
        raise UserInputError(
            f"{path} has {table.width} column(s); CliniQ qrels have 3 (query id, chunk id, "
            f"match type) and no header."
        )
    rows = [tuple(r) for r in table.iter_rows()]
    bad = sorted({t for _, _, t in rows if t not in MATCH_TYPES})
    if bad:
        raise UserInputError(f"{path}: unknown match type(s) {bad[:5]}; expected one of {list(MATCH_TYPES)}.")
    return rows


def read_cliniq(directory: str | os.PathLike, corpus_file: str = "corpus.jsonl") -> RetrievalDataset:
    """Read CliniQ's queries and qrels for the query sets present, and the user-built corpus."""
    root = Path(directory)
    present = [s for s in QUERY_SETS if (root / f"queries_{s}.jsonl").is_file()]
    if not present:
        raise UserInputError(
            f"no queries_{{disease,procedure,drug}}.jsonl in {root}; is --data a CliniQ folder?"
        )
    corpus_path = root / corpus_file
    if not corpus_path.is_file():
        raise UserInputError(
            f"{corpus_path} not found. CliniQ's corpus is not redistributable: rebuild it from MIMIC-III "
            f"with `emerge retriever build-cliniq --noteevents NOTEEVENTS.csv.gz --hadm-ids "
            f"test_hadm_ids.txt --out {corpus_path}`."
        )
    corpus = corpus_table(read_jsonl_ids(corpus_path, "corpus"))
    chunk_ids = set(corpus["_id"].to_list())
    queries: dict[str, str] = {}
    query_sets: dict[str, list[str]] = {}
    raw: dict[str, dict[str, int]] = {}
    types: dict[str, dict[str, str]] = {}
    duplicates = 0
    for name in present:
        rows = read_jsonl_ids(root / f"queries_{name}.jsonl", f"CliniQ {name} queries")
        clash = [r["_id"] for r in rows if r["_id"] in queries]
        if clash:
            raise UserInputError(
                f"query id(s) {clash[:5]} of queries_{name}.jsonl also appear in another "
                f"query set; CliniQ's ids are unique across sets."
            )
        texts = unique_texts(rows, root / f"queries_{name}.jsonl")
        queries.update(texts)
        query_sets[name] = list(texts)
        for qid, cid, match in read_cliniq_qrels(root / f"qrels_{name}.tsv"):
            if cid in raw.get(qid, {}):
                duplicates += 1
                continue
            raw.setdefault(qid, {})[cid] = 1
            types.setdefault(qid, {})[cid] = match
    if duplicates:
        logger.warning(
            "CliniQ qrels list %d (query, chunk) pair(s) more than once; each is counted once", duplicates
        )
    qrels = clean_qrels(raw, set(queries), chunk_ids, str(root / "qrels_*.tsv"))
    match_types = {q: {c: types[q][c] for c in docs} for q, docs in qrels.items()}
    return RetrievalDataset("cliniq", corpus, queries, qrels, match_types, query_sets)
