"""`ChunkIndex`: chunk embeddings in FAISS, with the patient of every chunk.

Rows are numbered in the order they were added; row `i` is FAISS id `i`, `chunk_ids[i]` and
`patient_ids[i]`. Two kinds of search:

- multi-patient (`search`): top-k over the whole corpus through FAISS (exact, IVF or HNSW), or over
  the chunks of a set of patients (scored exactly with numpy when they are few, else FAISS with an
  id selector);
- single-patient (`search_patient`): every chunk of one patient ranked exactly. The patient's rows are
  looked up in a per-patient row list and only those vectors are scored, so the cost is O(chunks of
  that patient), not O(corpus) (about 0.1 ms for 200 chunks; benchmarks/results/index.md).

Adding is streamed (`add` many times); vectors are buffered only until the structure is chosen
(`kind="auto"`) or the IVF quantizer is trained, so memory stays bounded by `train_size`/`flat_max_size`.

This is the low-level piece (vectors and ids). Systems that search text use `drehr.Retriever`, which
keeps the index together with the encoder that built it and the chunk texts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from drehr.index.build import encode_chunks
from drehr.index.config import IndexConfig
from drehr.index.encoder import Encoder, as_query_matrix, check_encoder_matches
from drehr.index.faiss_backend import gpu_available, make_faiss_index, set_search_params, to_gpu, train_index
from drehr.index.topk import top_k
from foundation.artifacts import read_config, write_config
from foundation.errors import ArtifactError, UserInputError
from foundation.inputs import reading
from foundation.outputs import cached_step, check_whole

__all__ = ["ChunkIndex", "SearchResult"]

logger = logging.getLogger(__name__)

INDEX_KIND = _KIND = "drehr_chunk_index"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class SearchResult:
    """Hits of `q` queries: `rows`/`scores` [q, k] (row -1, score -inf where fewer than k exist)."""

    rows: np.ndarray
    scores: np.ndarray
    chunk_ids: list[list[str]]


class ChunkIndex:
    """Chunk vectors of one encoder, searchable across patients or within one patient."""

    def __init__(
        self,
        dimension: int,
        encoder_fingerprint: str,
        config: IndexConfig | None = None,
        expected_size: int | None = None,
    ) -> None:
        if dimension <= 0:
            raise UserInputError(f"dimension must be positive, got {dimension}")
        self.dimension = int(dimension)
        self.encoder_fingerprint = str(encoder_fingerprint)
        self.config = config or IndexConfig()
        self.expected_size = expected_size
        self.kind: str | None = None
        self._index: Any = None  # the CPU FAISS index, once the kind is chosen (and IVF trained)
        self._search_index: Any = None  # GPU copy, or the CPU index
        self._pending: list[np.ndarray] = []  # vectors waiting for the kind / the IVF training
        self._pending_rows = 0
        self._chunk_ids: list[str] = []
        self._patient_ids: list[str] = []
        self._seen: set[str] = set()
        self._patient_rows: dict[str, np.ndarray] | None = None
        self._direct_map = False
        if self.config.kind in ("flat", "hnsw") or (
            self.config.kind == "auto"
            and expected_size is not None
            and expected_size <= self.config.flat_max_size
        ):
            self._create(self.config.resolved_kind(expected_size or 0))

    @classmethod
    def for_encoder(
        cls, encoder: Encoder, config: IndexConfig | None = None, expected_size: int | None = None
    ) -> ChunkIndex:
        return cls(encoder.dimension, encoder.fingerprint, config, expected_size)

    # ------------------------------------------------------------------ building
    def __len__(self) -> int:
        return len(self._chunk_ids)

    def add(self, chunk_ids: Sequence[str], patient_ids: Sequence[str], embeddings: np.ndarray) -> None:
        """Append chunks: ids [n], patients [n], `embeddings` [n, dimension] float32, L2-normalized."""
        vectors = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32))
        n = len(chunk_ids)
        if vectors.ndim != 2 or vectors.shape != (n, self.dimension) or len(patient_ids) != n:
            raise UserInputError(
                f"add() got {n} chunk ids, {len(patient_ids)} patient ids and embeddings of shape "
                f"{vectors.shape}; expected the same n for all three and embeddings [n, {self.dimension}]."
            )
        if not np.isfinite(vectors).all():
            raise UserInputError("embeddings contain NaN or inf; check the encoder's output before indexing.")
        norms = np.linalg.norm(vectors, axis=1)
        if n and np.abs(norms - 1).max() > 1e-3:
            logger.warning(
                "%d of %d embeddings are not L2-normalized; inner product will not be cosine",
                int((np.abs(norms - 1) > 1e-3).sum()),
                n,
            )
        for cid in chunk_ids:
            if cid in self._seen:
                raise UserInputError(f"chunk id {cid!r} added twice; chunk ids must be unique in an index.")
            self._seen.add(cid)
        self._chunk_ids.extend(str(c) for c in chunk_ids)
        self._patient_ids.extend(str(p) for p in patient_ids)
        self._patient_rows = None
        self._search_index = None
        if self._index is not None and not self._pending:
            self._index.add(vectors)
            return
        self._pending.append(vectors)
        self._pending_rows += n
        if (
            self._index is None
            and self.config.kind == "auto"
            and self._pending_rows > self.config.flat_max_size
        ):
            self._create("ivf")
        if self._index is not None and (self.kind != "ivf" or self._pending_rows >= self.config.train_size):
            self._flush()

    def finalize(self) -> None:
        """Choose the structure (auto), train IVF on what is buffered and add it. Idempotent."""
        if self._index is None:
            self._create(self.config.resolved_kind(self._pending_rows))
        if self._pending:
            self._flush()

    def build_from_encoder(
        self,
        encoder: Encoder,
        chunks: Any,
        batch_size: int = 64,
        work_dir: str | os.PathLike | None = None,
        shard_size: int = 50_000,
    ) -> ChunkIndex:
        """Encode `chunks` (chunk_id, patient_id, text) with `encoder` and add them; resumable with
        `work_dir` (see `drehr.index.build`). Kept for callers of the low-level index: a
        `drehr.Retriever` does this and also keeps the encoder and the texts."""
        self.check_encoder(encoder)
        for shard in encode_chunks(
            encoder, chunks, batch_size=batch_size, work_dir=work_dir, shard_size=shard_size
        ):
            self.add(shard.chunks["chunk_id"].to_list(), shard.chunks["patient_id"].to_list(), shard.vectors)
        self.finalize()
        return self

    def _create(self, kind: str) -> None:
        n_hint = max(self.expected_size or 0, self._pending_rows)
        self.kind = kind
        self._index = make_faiss_index(self.config, kind, self.dimension, n_hint)
        logger.info("index structure: %s (dimension %d, ~%d vectors)", kind, self.dimension, n_hint)

    def _flush(self) -> None:
        block = np.concatenate(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending, self._pending_rows = [], 0
        if self.kind == "ivf" and not self._index.is_trained:
            train_index(self._index, block[: self.config.train_size])
        self._index.add(block)

    # ------------------------------------------------------------------ lookups
    @property
    def chunk_ids(self) -> list[str]:
        return self._chunk_ids

    @property
    def patient_ids(self) -> list[str]:
        return self._patient_ids

    def patients(self) -> list[str]:
        """Patients with at least one chunk, in order of first appearance."""
        return list(self._rows_by_patient())

    def rows_of_patient(self, patient_id: str) -> np.ndarray:
        """Rows [m] int64 (ascending) of `patient_id`'s chunks; raise if the patient has none."""
        rows = self._rows_by_patient().get(str(patient_id))
        if rows is None:
            raise UserInputError(
                f"patient {patient_id!r} has no chunks in this index ({len(self)} chunks of "
                f"{len(self._rows_by_patient())} patients); check the patient id."
            )
        return rows

    def _rows_by_patient(self) -> dict[str, np.ndarray]:
        if self._patient_rows is None:
            grouped = (
                pl.DataFrame({"patient_id": self._patient_ids}, schema={"patient_id": pl.String})
                .with_row_index("row")
                .group_by("patient_id", maintain_order=True)
                .agg(pl.col("row"))
            )
            self._patient_rows = {p: np.asarray(r, dtype=np.int64) for p, r in grouped.iter_rows()}
        return self._patient_rows

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of `rows` [m] as [m, dimension] float32 (exact unless IVFPQ)."""
        self._ready()
        if self.kind == "ivf" and not self._direct_map:
            self._index.make_direct_map()
            self._direct_map = True
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        return self._index.reconstruct_batch(rows)

    # ------------------------------------------------------------------ search
    def check_encoder(self, encoder: Encoder) -> None:
        """Raise `EncoderMismatchError` unless `encoder` is the one that built this index."""
        check_encoder_matches(encoder, self.encoder_fingerprint, self.dimension, "this chunk index")

    def relabel_encoder(self, fingerprint: str) -> None:
        """Record that the encoder that built this index is now called `fingerprint`.

        Only for the same weights under a new name: `BiEncoder.save_pretrained` hashes the files it
        writes, so a model loaded from someone else's folder gets a new fingerprint when saved.
        """
        self.encoder_fingerprint = str(fingerprint)

    def _queries(self, queries: Any, encoder: Encoder | None) -> np.ndarray:
        if isinstance(queries, str) or (
            isinstance(queries, Sequence) and queries and isinstance(queries[0], str)
        ):
            if encoder is None:
                raise UserInputError("text queries need `encoder=`, the encoder that built the index.")
            self.check_encoder(encoder)
            queries = encoder.encode_queries([queries] if isinstance(queries, str) else list(queries))
        elif encoder is not None:
            self.check_encoder(encoder)
        return as_query_matrix(queries, self.dimension)

    def search(
        self,
        queries: Any,
        k: int = 10,
        *,
        encoder: Encoder | None = None,
        patients: Sequence[str] | None = None,
    ) -> SearchResult:
        """Top-`k` chunks for each query (texts with `encoder=`, or vectors [q, d]) over all patients
        or only over `patients`."""
        q = self._queries(queries, encoder)
        self._ready()
        if patients is not None:
            rows = (
                np.concatenate([self.rows_of_patient(p) for p in patients])
                if patients
                else np.empty(0, np.int64)
            )
            rows.sort()
            if len(rows) <= self.config.exact_subset_max:
                return self._exact(q, rows, k)
            return self._faiss_search(q, k, subset=rows)
        return self._faiss_search(q, k)

    def search_patient(
        self, patient_id: str, queries: Any, k: int | None = None, *, encoder: Encoder | None = None
    ) -> SearchResult:
        """Rank `patient_id`'s chunks for each query, exactly; all of them unless `k` is given."""
        q = self._queries(queries, encoder)
        rows = self.rows_of_patient(patient_id)
        return self._exact(q, rows, len(rows) if k is None else k)

    def _exact(self, q: np.ndarray, rows: np.ndarray, k: int) -> SearchResult:
        if len(rows) == 0:
            empty = np.empty((len(q), 0))
            return SearchResult(empty.astype(np.int64), empty.astype(np.float32), [[] for _ in q])
        scores = q @ self.vectors(rows).T  # [q, m]
        cols, values = top_k(scores, k)
        return self._result(rows[cols], values)

    def _faiss_search(self, q: np.ndarray, k: int, subset: np.ndarray | None = None) -> SearchResult:
        import faiss

        k = min(k, len(self))
        if subset is not None:  # id selectors run on the CPU index
            params = (
                faiss.SearchParametersIVF(nprobe=self._index.nprobe)
                if self.kind == "ivf"
                else faiss.SearchParameters()
            )
            params.sel = faiss.IDSelectorBatch(subset)
            values, rows = self._index.search(q, k, params=params)
        else:
            values, rows = self._searcher().search(q, k)
        return self._result(rows.astype(np.int64), values.astype(np.float32))

    def _result(self, rows: np.ndarray, scores: np.ndarray) -> SearchResult:
        scores = np.where(rows < 0, -np.inf, scores).astype(np.float32)
        ids = [[self._chunk_ids[r] for r in row if r >= 0] for row in rows]
        return SearchResult(rows, scores, ids)

    def _ready(self) -> None:
        if self._index is None or self._pending:
            self.finalize()
        if len(self) == 0:
            raise UserInputError("the index is empty; add chunks before searching.")

    def _searcher(self) -> Any:
        if self._search_index is None:
            use_gpu = self.config.use_gpu
            if use_gpu is True and not gpu_available():
                raise UserInputError(
                    "use_gpu=True but faiss sees no GPU; install the `gpu` extra "
                    "(faiss-gpu-cu12) on a CUDA machine, or set use_gpu='auto'."
                )
            self._search_index = to_gpu(self._index) if use_gpu and gpu_available() else self._index
        return self._search_index

    def set_nprobe(self, nprobe: int) -> None:
        """Change how many IVF cells a query visits (no effect on flat/HNSW)."""
        self.config = self.config.model_copy(update={"nprobe": int(nprobe)})
        for index in {id(self._index): self._index, id(self._search_index): self._search_index}.values():
            if index is not None:
                set_search_params(index, self.config)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike) -> Path:
        """Save into `directory` (new, empty, or an index folder emerge wrote; a user's folder is refused)."""
        self._ready()
        return cached_step(
            directory, _KIND, _FORMAT_VERSION, None, self.write_into, force=True, what="index folder"
        ).path

    def write_into(self, directory: str | os.PathLike) -> dict[str, Any]:
        """Write `index.faiss`, `chunks.parquet` (row order) and `config.json` into the folder `directory`."""
        import faiss

        self._ready()
        out = Path(directory)
        faiss.write_index(self._index, str(out / "index.faiss"))
        pl.DataFrame(
            {"chunk_id": self._chunk_ids, "patient_id": self._patient_ids},
            schema={"chunk_id": pl.String, "patient_id": pl.String},
        ).write_parquet(out / "chunks.parquet")
        write_config(
            out,
            _KIND,
            _FORMAT_VERSION,
            {
                "dimension": self.dimension,
                "encoder_fingerprint": self.encoder_fingerprint,
                "structure": self.kind,
                "n_vectors": len(self),
                "index_config": self.config,
            },
        )
        return {"n_vectors": len(self)}

    @classmethod
    def load(cls, directory: str | os.PathLike, nprobe: int | None = None) -> ChunkIndex:
        """Load an index written by `save`; `nprobe` overrides the saved IVF setting."""
        import faiss

        path = Path(directory)
        check_whole(path, _KIND, "index folder")
        body = read_config(directory, _KIND, _FORMAT_VERSION)
        config = IndexConfig(**body["index_config"])
        if nprobe is not None:
            config = config.model_copy(update={"nprobe": nprobe})
        self = cls(
            body["dimension"],
            body["encoder_fingerprint"],
            config.model_copy(update={"kind": body["structure"]}),
        )
        self.config = config
        self.kind = body["structure"]
        for name in ("index.faiss", "chunks.parquet"):
            if not (path / name).is_file():
                raise ArtifactError(
                    f"{path / name} is missing; the index folder is incomplete, build it again."
                )
        with reading(path, "index folder", ours=True):
            self._index = faiss.read_index(str(path / "index.faiss"))
            table = pl.read_parquet(path / "chunks.parquet")
        set_search_params(self._index, config)
        self._chunk_ids = table["chunk_id"].to_list()
        self._patient_ids = table["patient_id"].to_list()
        self._seen = set(self._chunk_ids)
        if self._index.ntotal != len(self._chunk_ids) or self._index.d != self.dimension:
            raise ArtifactError(
                f"{path}: index.faiss holds {self._index.ntotal} vectors of dimension "
                f"{self._index.d}, chunks.parquet {len(self._chunk_ids)} rows, config says "
                f"dimension {self.dimension}; the folder is inconsistent, build it again."
            )
        return self
