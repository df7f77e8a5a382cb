"""`Retriever`: an encoder, the `ChunkIndex` it built and the chunk texts, searched and saved as one.

This is the object to import into another system: it owns its encoder, so a search takes only text,
and the index can never be queried by a model that did not build it.

    retriever = Retriever.build(BiEncoder.from_pretrained("default"), chunks)  # chunk_id, patient_id, text
    retriever.search("heart failure", patients="123", k=5)   # polars DataFrame of hits
    retriever.save("runs/retriever")
    retriever = Retriever.load("runs/retriever")

A saved retriever is one folder, written atomically and owned by emerge (a folder of the user's is
refused, a damaged one is named when loaded):

    encoder/          BiEncoder.save_pretrained (loads on its own with
                      sentence_transformers.SentenceTransformer)
    index/            ChunkIndex files (index.faiss, chunks.parquet with chunk_id/patient_id, config.json)
    chunks.parquet    chunk_id, patient_id, text in index row order
    config.json       kind "drehr_retriever", format_version, encoder fingerprint, counts
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from drehr.index.build import CHUNK_COLUMNS, count_chunks, encode_chunks
from drehr.index.chunk_index import ChunkIndex, SearchResult
from drehr.index.config import IndexConfig
from drehr.index.encoder import Encoder
from foundation.artifacts import read_config, write_config
from foundation.errors import ArtifactError, UserInputError
from foundation.inputs import reading
from foundation.outputs import cached_step, check_whole

__all__ = ["Retriever", "RETRIEVER_KIND", "HIT_COLUMNS", "require_saveable"]

logger = logging.getLogger(__name__)

RETRIEVER_KIND = "drehr_retriever"
_FORMAT_VERSION = 1
_ENCODER, _INDEX, _CHUNKS = "encoder", "index", "chunks.parquet"
HIT_COLUMNS = ("query", "rank", "chunk_id", "patient_id", "text", "score")


def require_saveable(encoder: Encoder) -> None:
    """Raise unless `encoder` can save itself (`save_pretrained`), as a saved retriever needs."""
    if not callable(getattr(encoder, "save_pretrained", None)):
        raise UserInputError(
            f"the encoder ({type(encoder).__name__}, fingerprint {getattr(encoder, 'fingerprint', '?')!r}) "
            f"has no save_pretrained, so a retriever built on it can be searched but not saved; build it "
            f"with a drehr.BiEncoder (BiEncoder.from_pretrained(...)) to save it."
        )


class Retriever:
    """Search one encoder's chunk index by text: whole corpus, some patients, or one patient.

    `chunks` is a table with chunk_id, patient_id, text whose row i is the index's row i. The texts are
    held in memory (Arrow strings, about the size of the text), so a hit comes back with its text.
    """

    def __init__(self, encoder: Encoder, index: ChunkIndex, chunks: pl.DataFrame) -> None:
        index.check_encoder(encoder)  # EncoderMismatchError names both fingerprints
        missing = [c for c in CHUNK_COLUMNS if c not in chunks.columns]
        if missing:
            raise UserInputError(
                f"the chunk table lacks column(s) {missing} (found: {chunks.columns}); "
                f"it needs {list(CHUNK_COLUMNS)}."
            )
        chunks = chunks.select(pl.col(c).cast(pl.String) for c in CHUNK_COLUMNS)
        if chunks["chunk_id"].to_list() != index.chunk_ids:
            raise UserInputError(
                f"the chunk table ({chunks.height} rows) does not list the index's {len(index)} "
                f"chunks in its row order; pass the chunks the index was built from, in order."
            )
        self.encoder = encoder
        self.index = index
        self.chunks = chunks

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        return (
            f"Retriever({len(self)} chunks of {len(self.index.patients())} patients, structure "
            f"{self.index.kind}, encoder {self.index.encoder_fingerprint})"
        )

    # ------------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        encoder: Encoder,
        chunks: Any,
        config: IndexConfig | None = None,
        batch_size: int = 64,
        work_dir: str | os.PathLike | None = None,
        shard_size: int = 50_000,
    ) -> Retriever:
        """Encode `chunks` and index them.

        chunks: a polars DataFrame / LazyFrame (read `shard_size` rows at a time) or an iterable of
        chunk objects or dicts, with chunk_id, patient_id, text; chunks with empty text are skipped
        and reported. work_dir: keep each encoded shard there, so a rerun after an interruption
        does not encode it again (see `drehr.index.build`).
        """
        index = ChunkIndex.for_encoder(encoder, config, expected_size=count_chunks(chunks))
        parts: list[pl.DataFrame] = []
        for shard in encode_chunks(
            encoder, chunks, batch_size=batch_size, work_dir=work_dir, shard_size=shard_size
        ):
            index.add(shard.chunks["chunk_id"].to_list(), shard.chunks["patient_id"].to_list(), shard.vectors)
            parts.append(shard.chunks)
        if len(index) == 0:
            raise UserInputError(
                "no chunk to index: the chunk table is empty or every text is blank; "
                "pass chunks with chunk_id, patient_id and non-empty text."
            )
        index.finalize()
        return cls(encoder, index, pl.concat(parts))

    # ------------------------------------------------------------------ search
    def search(
        self, query: str | Sequence[str], patients: str | Sequence[str] | None = None, k: int = 10
    ) -> pl.DataFrame:
        """The top-`k` chunks for each query, as a table with columns query, rank (1 = best), chunk_id,
        patient_id, text, score (cosine), ordered by query then rank.

        patients: None searches every patient's chunks; one id ranks only that patient's chunks
        (exactly; cost grows with that patient's chunks, not the corpus); a list restricts the
        search to those patients. An unknown patient id is refused.
        """
        queries = [query] if isinstance(query, str) else list(query)
        if not queries:
            raise UserInputError("search() got no query; pass a string or a non-empty list of strings.")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise UserInputError(f"k must be a positive integer, got {k!r}.")
        vectors = self.encoder.encode_queries(queries)  # [q, d], rows L2-normalized
        if patients is None:
            hits = self.index.search(vectors, int(k))
        elif isinstance(patients, str):
            hits = self.index.search_patient(patients, vectors, int(k))
        else:
            selected = list(dict.fromkeys(str(p) for p in patients))
            if not selected:
                raise UserInputError("patients=[] selects no chunk; pass None to search every patient.")
            hits = self.index.search(vectors, int(k), patients=selected)
        return self._hit_table(queries, hits)

    def _hit_table(self, queries: list[str], hits: SearchResult) -> pl.DataFrame:
        valid = hits.rows >= 0  # [q, k]; -1 pads queries with fewer than k hits, at the end
        query_of, rank_of = np.nonzero(valid)  # row-major: by query, then rank
        rows = hits.rows[valid]  # [h] index rows of the hits
        return (
            self.chunks.select(pl.all().gather(rows))
            .with_columns(
                pl.Series("query", queries, dtype=pl.String).gather(query_of),
                pl.Series("rank", rank_of + 1, dtype=pl.Int32),
                pl.Series("score", hits.scores[valid], dtype=pl.Float32),
            )
            .select(HIT_COLUMNS)
        )

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike) -> Path:
        """Save the encoder, index and chunk texts into `directory` as one folder (see the module
        docstring). `directory` must be new, empty or a retriever folder emerge wrote; a folder of
        the user's is refused before anything is written."""
        require_saveable(self.encoder)
        self.index.check_encoder(self.encoder)  # e.g. the encoder's settings were changed after building

        def write(tmp: Path) -> dict[str, Any]:
            self.encoder.save_pretrained(tmp / _ENCODER)
            # the same weights, re-hashed from the files just written: the index follows the new name
            self.index.relabel_encoder(self.encoder.fingerprint)
            self.index.save(tmp / _INDEX)
            self.chunks.write_parquet(tmp / _CHUNKS)
            counts = {"n_chunks": len(self), "n_patients": len(self.index.patients())}
            write_config(
                tmp,
                RETRIEVER_KIND,
                _FORMAT_VERSION,
                {
                    "encoder_fingerprint": self.encoder.fingerprint,
                    "dimension": self.index.dimension,
                    "structure": self.index.kind,
                    **counts,
                    "parts": {"encoder": _ENCODER, "index": _INDEX, "chunks": _CHUNKS},
                },
            )
            return {"encoder_fingerprint": self.encoder.fingerprint, **counts}

        path = cached_step(
            directory, RETRIEVER_KIND, _FORMAT_VERSION, None, write, force=True, what="retriever folder"
        ).path
        logger.info(
            "saved retriever (%d chunks, encoder %s) to %s", len(self), self.encoder.fingerprint, path
        )
        return path

    @classmethod
    def load(
        cls, directory: str | os.PathLike, device: str | None = None, nprobe: int | None = None
    ) -> Retriever:
        """Load a folder written by `save` (or `emerge retriever index`); `device` places the encoder
        (e.g. "cuda"), `nprobe` overrides the saved IVF setting."""
        from drehr.model import BiEncoder

        path = Path(directory)
        if not path.is_dir():
            raise UserInputError(
                f"retriever folder {path} not found; pass a folder written by Retriever.save "
                f"or `emerge retriever index --out`."
            )
        fix = "build it again (Retriever.save or `emerge retriever index`)"
        check_whole(path, RETRIEVER_KIND, "retriever folder", fix)
        body = read_config(path, RETRIEVER_KIND, _FORMAT_VERSION)
        for name in (_ENCODER, _INDEX, _CHUNKS):
            if not (path / name).exists():
                raise ArtifactError(f"retriever folder {path} lacks {name}; the folder is incomplete, {fix}.")
        encoder = BiEncoder.from_pretrained(path / _ENCODER, device=device)
        index = ChunkIndex.load(path / _INDEX, nprobe=nprobe)
        with reading(path / _CHUNKS, "retriever chunk table", fix, ours=True):
            chunks = pl.read_parquet(path / _CHUNKS, columns=list(CHUNK_COLUMNS))
        recorded = {
            "config.json": body.get("encoder_fingerprint"),
            "encoder/": encoder.fingerprint,
            "index/": index.encoder_fingerprint,
        }
        if len(set(recorded.values())) != 1:
            raise ArtifactError(
                f"retriever folder {path} is inconsistent: the index was not built by the encoder "
                f"saved with it (encoder fingerprints {recorded}); {fix}."
            )
        if chunks.height != len(index) or chunks["chunk_id"].to_list() != index.chunk_ids:
            raise ArtifactError(
                f"retriever folder {path} is inconsistent: {_CHUNKS} has {chunks.height} rows, "
                f"the index {len(index)} chunks in another order; {fix}."
            )
        return cls(encoder, index, chunks)
