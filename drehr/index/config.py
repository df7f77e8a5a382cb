"""Settings of a `ChunkIndex`: which FAISS structure, and its knobs.

`kind="auto"` picks exact search (`IndexFlatIP`) up to `flat_max_size` vectors and IVF above it:
exact search over 100k x 384 vectors is a few ms per query on 2 cores, and IVF only pays off beyond.
IVF's `nlist` defaults to ~4 sqrt(n) (FAISS's guideline is 4-16 sqrt(n)); `nprobe` trades recall for
speed and can be changed after building (`ChunkIndex.set_nprobe`). See benchmarks/results/index.md
for the measured recall/speed curve on 1M x 384 vectors.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IndexConfig", "IndexKind"]

IndexKind = Literal["flat", "ivf", "hnsw", "auto"]


class IndexConfig(BaseModel):
    """How to build the vector index. Immutable; `resolved_kind(n)` says what `auto` becomes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: IndexKind = "auto"
    flat_max_size: int = Field(200_000, ge=1, description="auto: exact search up to this many vectors")
    nlist: int | None = Field(None, ge=1, description="IVF cells; None = 4 sqrt(n) clipped to [16, 65536]")
    nprobe: int = Field(32, ge=1, description="IVF cells visited per query")
    pq_m: int | None = Field(
        None, ge=1, description="IVF: product-quantize into pq_m sub-vectors (IVFPQ); None = IVFFlat"
    )
    pq_bits: int = Field(8, ge=1, le=16)
    hnsw_m: int = Field(32, ge=4, description="HNSW neighbours per node")
    hnsw_ef_construction: int = Field(80, ge=8)
    hnsw_ef_search: int = Field(64, ge=1)
    train_size: int = Field(100_000, ge=1, description="IVF: vectors buffered to train the coarse quantizer")
    exact_subset_max: int = Field(
        100_000, ge=0, description="restricted search scores up to this many rows exactly with numpy"
    )
    use_gpu: bool | Literal["auto"] = Field("auto", description="search on a GPU when faiss has GPU support")

    def resolved_kind(self, n_vectors: int) -> Literal["flat", "ivf", "hnsw"]:
        """The structure for an index of `n_vectors` vectors."""
        if self.kind != "auto":
            return self.kind
        return "flat" if n_vectors <= self.flat_max_size else "ivf"

    def resolved_nlist(self, n_vectors: int) -> int:
        """IVF cell count for `n_vectors` (the configured `nlist`, or ~4 sqrt(n))."""
        if self.nlist is not None:
            return self.nlist
        return int(min(65536, max(16, 4 * round(math.sqrt(max(n_vectors, 1))))))
