"""FAISS structures for a `ChunkIndex`: build, train, move to GPU, tune. No ids or patients here.

All indexes use inner product on L2-normalized vectors (cosine). FAISS GPU is optional: it is
imported lazily and only used when `faiss.get_num_gpus() > 0`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from drehr.index.config import IndexConfig
from foundation.errors import UserInputError

__all__ = [
    "make_faiss_index",
    "train_index",
    "gpu_available",
    "to_gpu",
    "set_search_params",
    "needs_training",
]

logger = logging.getLogger(__name__)


def _faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is a hard dependency
        raise ImportError(
            "faiss is missing: `pip install faiss-cpu` (or the `gpu` extra for faiss-gpu)"
        ) from exc
    return faiss


def needs_training(kind: str) -> bool:
    return kind == "ivf"


def make_faiss_index(config: IndexConfig, kind: str, dimension: int, n_vectors: int) -> Any:
    """An empty CPU FAISS index of `kind` for `dimension`-d vectors, sized for about `n_vectors`."""
    faiss = _faiss()
    if kind == "flat":
        return faiss.IndexFlatIP(dimension)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.hnsw_ef_construction
        index.hnsw.efSearch = config.hnsw_ef_search
        return index
    if kind == "ivf":
        nlist = config.resolved_nlist(n_vectors)
        quantizer = faiss.IndexFlatIP(dimension)
        if config.pq_m is None:
            index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        else:
            if dimension % config.pq_m:
                raise UserInputError(
                    f"pq_m={config.pq_m} does not divide the dimension {dimension}; pick a divisor "
                    f"(e.g. {dimension // 8 if dimension % 8 == 0 else 1}) or pq_m=None for IVFFlat."
                )
            index = faiss.IndexIVFPQ(
                quantizer, dimension, nlist, config.pq_m, config.pq_bits, faiss.METRIC_INNER_PRODUCT
            )
        index.nprobe = min(config.nprobe, nlist)
        index.quantizer_trains_alone = 0
        return index
    raise UserInputError(f"unknown index kind {kind!r}; expected one of flat, ivf, hnsw, auto")


def set_search_params(index: Any, config: IndexConfig) -> None:
    """Apply `nprobe` / `efSearch` from `config` to a CPU or GPU index."""
    if hasattr(index, "nprobe"):  # IVF, on CPU or GPU
        index.nprobe = min(config.nprobe, index.nlist)
    elif hasattr(index, "hnsw"):
        index.hnsw.efSearch = config.hnsw_ef_search
    # flat indexes have no search parameter


def gpu_available() -> bool:
    """True when the installed faiss was built with GPU support and sees at least one GPU."""
    faiss = _faiss()
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def to_gpu(index: Any) -> Any:
    """A GPU copy of a CPU index on device 0 (HNSW has no GPU version and stays on CPU)."""
    faiss = _faiss()
    if hasattr(index, "hnsw"):
        logger.info("HNSW has no FAISS GPU implementation; searching on CPU")
        return index
    resources = faiss.StandardGpuResources()
    gpu_index = faiss.index_cpu_to_gpu(resources, 0, index)
    gpu_index._resources = resources  # keep the resources alive as long as the index
    return gpu_index


def train_index(index: Any, sample: np.ndarray) -> None:
    """Train an IVF index's coarse quantizer (and PQ codebooks) on `sample` [n, d]."""
    nlist = index.nlist
    if len(sample) < nlist:
        raise UserInputError(
            f"an IVF index with nlist={nlist} needs at least {nlist} vectors to train, got {len(sample)}; "
            f"use kind='flat' (exact) for a corpus this small, or lower nlist."
        )
    if len(sample) < 39 * nlist:
        logger.warning(
            "training IVF with %d vectors for nlist=%d (FAISS advises >= %d)", len(sample), nlist, 39 * nlist
        )
    logger.info("training IVF (nlist=%d) on %d vectors", nlist, len(sample))
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
