"""The function behind `emerge retriever index`: a chunks file in, a saved `drehr.Retriever` folder out.

Everything that can be wrong is checked before the first chunk is encoded (encoding a large corpus
takes hours): `out` must be replaceable, the chunks file readable with the right columns and rows, the
encoder able to save itself. Encoded shards go to the hidden sibling folder `.<out>.work/` (ours,
reused by a rerun after an interruption, kept afterwards so that a rebuild with the same encoder is
fast; delete it when the corpus is final).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from drehr.index.build import read_chunk_table
from drehr.index.config import IndexConfig
from drehr.index.encoder import Encoder
from foundation.errors import UserInputError
from foundation.inputs import reading
from foundation.outputs import claim_folder, ensure_replaceable

__all__ = ["build_chunk_index", "work_folder"]

SHARDS_KIND = "encoded_chunk_shards"


def work_folder(out: str | os.PathLike) -> Path:
    """The hidden sibling `.<out>.work/` that keeps the encoded shards of a build of `out`."""
    out = Path(out)
    return out.parent / f".{out.name}.work"


def build_chunk_index(
    encoder: Encoder,
    chunks: str | os.PathLike,
    out: str | os.PathLike,
    kind: Literal["flat", "ivf", "hnsw", "auto"] = "auto",
    batch_size: int = 64,
    nprobe: int | None = None,
) -> dict[str, Any]:
    """Encode a chunks file (parquet/jsonl: chunk_id, patient_id, text) into a `Retriever` saved at `out`;
    return a JSON-able summary (out, chunks, patients, structure, dimension, encoder fingerprint)."""
    # imported here: drehr.retriever imports drehr.index
    from drehr.retriever import RETRIEVER_KIND, Retriever, require_saveable

    out = Path(out)
    ensure_replaceable(out, RETRIEVER_KIND, "--out")
    table = read_chunk_table(chunks)
    with reading(chunks, "chunks file"):
        n = table.select("chunk_id").collect().height
    if n == 0:
        raise UserInputError(f"chunks file {chunks} has no rows.")
    require_saveable(encoder)
    claim_folder(work_folder(out), SHARDS_KIND, what="shard folder")
    config = IndexConfig(kind=kind, **({"nprobe": nprobe} if nprobe else {}))
    with reading(chunks, "chunks file"):
        retriever = Retriever.build(encoder, table, config, batch_size=batch_size, work_dir=work_folder(out))
    retriever.save(out)
    index = retriever.index
    return {
        "out": str(out),
        "chunks": len(index),
        "patients": len(index.patients()),
        "structure": index.kind,
        "dimension": index.dimension,
        "encoder": index.encoder_fingerprint,
    }
