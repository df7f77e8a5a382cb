"""Reader for BEIR-format collections: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (with header).

Corpus lines are `{"_id", "text"[, "title"][, "patient_id"]}`; a title is prepended to the text as
BEIR does. Without a patient_id field, the patient is the part of the id before the last "_".
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import polars as pl

from drehr.evaluation.dataset import RetrievalDataset, clean_qrels, patient_of_chunk
from foundation.artifacts import iter_json_objects
from foundation.errors import UserInputError

__all__ = ["read_beir", "read_jsonl_ids"]

logger = logging.getLogger(__name__)


def unique_texts(rows: list[dict], path: Path) -> dict[str, str]:
    """{_id: text}; an id repeated with the same text is kept once, with another text it is an error."""
    texts: dict[str, str] = {}
    for row in rows:
        text = str(row["text"])
        if texts.setdefault(row["_id"], text) != text:
            raise UserInputError(
                f"{path}: query _id {row['_id']!r} occurs twice with different texts "
                f"({texts[row['_id']][:40]!r} and {text[:40]!r}); give each query its own _id"
            )
    return texts


def read_jsonl_ids(path: Path, what: str) -> list[dict]:
    """Lines of a JSON-lines file, each an object with at least `_id` and `text`."""
    rows = []
    for number, row in iter_json_objects(path, '{"_id": ..., "text": ...}', f"({what} file)"):
        if "_id" not in row or "text" not in row:
            raise UserInputError(
                f'{path}:{number} lacks "_id" or "text"; each line must be {{"_id": ..., "text": ...}}.'
            )
        row["_id"] = str(row["_id"])
        rows.append(row)
    if not rows:
        raise UserInputError(f"{what} file {path} is empty.")
    return rows


def corpus_table(rows: list[dict]) -> pl.DataFrame:
    """(_id, text, patient_id) from corpus rows; empty texts are counted and dropped with a warning."""
    texts = [(f"{r['title']} {r['text']}" if r.get("title") else str(r["text"])).strip() for r in rows]
    ids = [r["_id"] for r in rows]
    patients = [str(r["patient_id"]) if "patient_id" in r else patient_of_chunk(r["_id"]) for r in rows]
    table = pl.DataFrame({"_id": ids, "text": texts, "patient_id": patients})
    if table["_id"].n_unique() != table.height:
        raise UserInputError(
            f"corpus has {table.height - table['_id'].n_unique()} duplicate _id value(s); ids must be unique."
        )
    empty = table.filter(pl.col("text") == "")
    if empty.height:
        logger.warning(
            "%d corpus entr(ies) have empty text and are left out (e.g. %s)",
            empty.height,
            empty["_id"].head(3).to_list(),
        )
        table = table.filter(pl.col("text") != "")
    return table


def read_beir(directory: str | os.PathLike, split: str = "test") -> RetrievalDataset:
    """Read a BEIR dataset folder; qrels from `qrels/<split>.tsv` (query-id, corpus-id, score)."""
    root = Path(directory)
    corpus = corpus_table(read_jsonl_ids(root / "corpus.jsonl", "corpus"))
    queries = unique_texts(read_jsonl_ids(root / "queries.jsonl", "queries"), root / "queries.jsonl")
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        raise UserInputError(
            f"{qrels_path} not found; a BEIR folder has qrels/{split}.tsv (or pass another split)."
        )
    table = pl.read_csv(qrels_path, separator="\t", infer_schema=False, quote_char=None)
    if table.width < 3:
        raise UserInputError(
            f"{qrels_path} has {table.width} column(s); expected query-id, corpus-id, score "
            f"with a header line."
        )
    raw: dict[str, dict[str, int]] = {}
    for number, (qid, cid, score) in enumerate(table.select(table.columns[:3]).iter_rows(), 2):
        try:
            raw.setdefault(qid, {})[cid] = int(float(score))
        except (TypeError, ValueError) as exc:
            raise UserInputError(f"{qrels_path}:{number}: score {score!r} is not a number.") from exc
    qrels = clean_qrels(raw, set(queries), set(corpus["_id"].to_list()), str(qrels_path))
    return RetrievalDataset(root.name, corpus, queries, qrels, query_sets={"all": list(queries)})
