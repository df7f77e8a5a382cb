"""Streaming, resumable encoding of a chunk table, shard by shard (for a `ChunkIndex` or a `Retriever`).

Chunks are read `shard_size` at a time (a polars LazyFrame is sliced, so a parquet file of millions
of chunks is never loaded whole) and encoded; `encode_chunks` yields each shard with its vectors and
knows nothing of indexes, so the caller adds them where it wants (`ChunkIndex.build_from_encoder`,
`Retriever.build`). With `work_dir`, each shard's embeddings are saved as `shard-<i>-<hash>.npy`
(written to a temporary name, then renamed) where the hash covers the encoder fingerprint and the
shard's chunk ids: a rerun after an interruption loads finished shards instead of encoding them
again, and a changed corpus or encoder never reuses stale ones.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from tqdm.auto import tqdm

from drehr.index.encoder import Encoder
from foundation.artifacts import stable_hash
from foundation.errors import UserInputError
from foundation.inputs import reading

__all__ = [
    "read_chunk_table",
    "iter_chunk_batches",
    "count_chunks",
    "encode_chunks",
    "EncodedShard",
    "CHUNK_COLUMNS",
]

logger = logging.getLogger(__name__)

CHUNK_COLUMNS = ("chunk_id", "patient_id", "text")


def read_chunk_table(path: str | os.PathLike) -> pl.LazyFrame:
    """A lazy table of chunks from parquet or JSON lines with columns chunk_id, patient_id, text."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"chunks file {path} not found; pass a .parquet or .jsonl file of chunks.")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".jsonl", ".ndjson", ".json"):
        raise UserInputError(f"chunks file {path} has suffix {suffix!r}; expected .parquet or .jsonl.")
    with reading(path, "chunks file"):
        frame = pl.scan_parquet(path) if suffix == ".parquet" else pl.scan_ndjson(path)
        columns = frame.collect_schema().names()
    missing = [c for c in CHUNK_COLUMNS if c not in columns]
    if missing:
        raise UserInputError(
            f"chunks file {path} lacks column(s) {missing} (found: {columns}); it needs "
            f"{list(CHUNK_COLUMNS)}, e.g. the output of drehr.chunking.chunk_notes."
        )
    return frame.select(pl.col(c).cast(pl.String) for c in CHUNK_COLUMNS)


def iter_chunk_batches(chunks: Any, size: int) -> Iterator[pl.DataFrame]:
    """Batches of at most `size` rows (chunk_id, patient_id, text) from a DataFrame, LazyFrame or an
    iterable of `drehr.chunking.Chunk`-like objects or dicts."""
    if isinstance(chunks, (pl.DataFrame, pl.LazyFrame)):
        lazy = chunks.lazy().select(pl.col(c).cast(pl.String) for c in CHUNK_COLUMNS)
        offset = 0
        while True:
            batch = lazy.slice(offset, size).collect()
            if batch.height == 0:
                return
            yield batch
            offset += batch.height
    rows: list[tuple[str, str, str]] = []
    for chunk in _as_iterable(chunks):
        get = chunk.get if isinstance(chunk, dict) else lambda name, c=chunk: getattr(c, name)
        rows.append(tuple(str(get(c)) for c in CHUNK_COLUMNS))
        if len(rows) == size:
            yield pl.DataFrame(rows, schema=list(CHUNK_COLUMNS), orient="row")
            rows = []
    if rows:
        yield pl.DataFrame(rows, schema=list(CHUNK_COLUMNS), orient="row")


def _as_iterable(chunks: Any) -> Iterable:
    if isinstance(chunks, (str, bytes)) or not isinstance(chunks, Iterable):
        raise UserInputError(
            f"chunks must be a polars table or an iterable of chunks, got {type(chunks).__name__}"
        )
    return chunks


def count_chunks(chunks: Any) -> int | None:
    """Rows of a chunk table (a LazyFrame is counted without loading it), or None for a plain iterator."""
    if isinstance(chunks, pl.LazyFrame):
        return chunks.select(pl.len()).collect().item()
    return len(chunks) if hasattr(chunks, "__len__") else None


@dataclass(frozen=True)
class EncodedShard:
    """One shard of encoded chunks: `chunks` (chunk_id, patient_id, text; [n] rows, empty texts
    removed) and their passage embeddings `vectors` [n, dimension] float32, rows L2-normalized."""

    chunks: pl.DataFrame
    vectors: np.ndarray


def encode_chunks(
    encoder: Encoder,
    chunks: Any,
    batch_size: int = 64,
    work_dir: str | os.PathLike | None = None,
    shard_size: int = 50_000,
) -> Iterator[EncodedShard]:
    """Encode `chunks` shard by shard with `encoder.encode`; yield each shard with its vectors.

    Knows nothing of any index: the caller adds the shards where it wants them. Chunks with empty
    text are skipped, counted and reported in a warning (an empty passage has no meaningful
    embedding). `work_dir` makes the encoding resumable (see the module docstring).
    """
    total = count_chunks(chunks)
    shard_dir = Path(work_dir) if work_dir is not None else None
    if shard_dir is not None:
        shard_dir.mkdir(parents=True, exist_ok=True)
    skipped = reused = 0
    with tqdm(total=total, desc="encoding chunks", unit="chunk", disable=None) as bar:
        for i, batch in enumerate(iter_chunk_batches(chunks, shard_size)):
            n_read = batch.height
            empty = batch["text"].is_null() | (batch["text"].str.strip_chars() == "")
            if empty.any():
                skipped += int(empty.sum())
                batch = batch.filter(~empty)
            ids = batch["chunk_id"].to_list()
            path = None
            if shard_dir is not None:
                path = shard_dir / f"shard-{i:05d}-{stable_hash(encoder.fingerprint, ids)}.npy"
            if path is not None and path.is_file():
                vectors = np.load(path)
                reused += 1
            else:
                vectors = encoder.encode(
                    batch["text"].to_list(), batch_size=batch_size, show_progress_bar=False
                )
                if path is not None:
                    tmp = path.with_suffix(".tmp")
                    with open(tmp, "wb") as fh:
                        np.save(fh, vectors)
                    os.replace(tmp, path)
            yield EncodedShard(batch, vectors)  # vectors: [n, dimension]
            bar.update(n_read)
    if skipped:
        logger.warning("skipped %d chunk(s) with empty text", skipped)
    if reused:
        logger.info("reused %d encoded shard(s) from %s", reused, shard_dir)
