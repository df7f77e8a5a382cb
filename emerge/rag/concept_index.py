"""`ConceptIndex`: a KG's surface forms (every distinct name and synonym) as a fast, cached vector index.

The vectors and the surface -> node table are the dense linker's (`kg.linking.cached_linker`): one vector per
normalized surface form of the allowed node types, cached under `cache_root` and keyed by the graph's ids,
types, names and synonyms, the encoder and the types. A surface form stands for one node (the linker's tie
rule: the node whose name it is, then the earlier type, then graph order), so a concept's score is the best of
its forms. The surface forms are embedded by `concept_side(encoder)`: on the query side, where `drehr`'s stage
I / II training embeds the entities (its chunk anchors are passages: `drehr.training.config`, anchor_side
"passage"; DR.EHR's entity side carries the instruction), unless the encoder embeds both sides alike (no query
instruction, one max length: the bundled MiniLM); then they are the very vectors `emerge rag link` uses, and
one cached embedding serves both steps.

Exact search over the starter KG's ~120k vectors costs ~3-10 ms per query on 2 CPU cores, too slow for
the dozens of phrases of a stay, so searches go to an HNSW graph built once from those vectors
(`drehr.index.faiss_backend`, M 32, efConstruction 80, efSearch 64) and cached beside the linker's
folder as `concepts_<key>` (kind "concept_index"; built in a temporary folder and published whole, never
written into a folder emerge did not write: `foundation.outputs.cached_step`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from drehr.index.config import IndexConfig
from foundation.artifacts import read_config, stable_hash, write_config
from foundation.errors import ArtifactError, UserInputError
from foundation.inputs import reading

__all__ = ["ConceptIndex", "concept_side", "concept_dtype", "Dtype", "SEARCH", "KIND", "FORMAT_VERSION"]

logger = logging.getLogger(__name__)

KIND = "concept_index"
FORMAT_VERSION = 1
Dtype = Literal["auto", "float32", "bfloat16"]
SEARCH = IndexConfig(kind="hnsw", hnsw_m=32, hnsw_ef_construction=80, hnsw_ef_search=64, use_gpu=False)


def concept_dtype(dtype: Dtype, device: str = "cpu") -> Literal["float32", "bfloat16"]:
    """The precision the KG's surface forms are embedded in: "auto" is bfloat16 on CUDA and on CPUs that
    multiply bfloat16 in hardware (`emerge.llm.gguf.cpu_has_native_bf16`), else float32."""
    if dtype != "auto":
        return dtype
    from emerge.llm.gguf import cpu_has_native_bf16

    return "bfloat16" if str(device).startswith("cuda") or cpu_has_native_bf16() else "float32"


def _autocast(encode: Callable[[list[str]], np.ndarray], device: str) -> Callable[[list[str]], np.ndarray]:
    def embed(texts: list[str]) -> np.ndarray:
        import torch

        with torch.autocast("cuda" if str(device).startswith("cuda") else "cpu", dtype=torch.bfloat16):
            return encode(texts)

    return embed


def concept_side(encoder: Any, dtype: Dtype = "float32") -> tuple[Callable[[list[str]], np.ndarray], str]:
    """(texts -> vectors, name) for the KG's surface forms: `encode_queries` (drehr's entity side), or
    `encode` under the encoder's own fingerprint when the two sides embed alike, so that the vectors are
    the ones the dense linker caches for this encoder. With bfloat16 (`concept_dtype`) the encoder runs
    under autocast and the name says so (":bf16"), so float32 and bfloat16 vectors are cached apart."""
    config = getattr(encoder, "config", None)
    same = (
        config is not None
        and not getattr(config, "query_instruction", "")
        and getattr(config, "query_max_length", None) == getattr(config, "passage_max_length", None)
    )
    if same or not hasattr(encoder, "encode_queries"):
        embed, name = encoder.encode, str(encoder.fingerprint)
    else:
        embed, name = encoder.encode_queries, f"{encoder.fingerprint}:query"
    device = str(getattr(encoder, "device", "cpu"))
    if concept_dtype(dtype, device) == "bfloat16":
        return _autocast(embed, device), f"{name}:bf16"
    return embed, name


class ConceptIndex:
    """Search the surface forms of `kg` (types `types`, None = all) with vectors from `encoder`, embedded
    in `dtype` ("auto": bfloat16 where the hardware has it; `concept_dtype`).

    `prepare()` loads (or builds, once per graph, encoder and types) the index; `search` prepares it
    when needed. Qualifier nodes (`KnowledgeGraph.qualifier_ids`) are flagged in `qualifier`.
    """

    def __init__(
        self,
        kg,
        encoder: Any,
        cache_root: str | Path,
        types: Sequence[str] | None = None,
        dtype: Dtype = "float32",
    ) -> None:
        from kg.linking import cached_linker

        embed, name = concept_side(encoder, dtype)
        self.linker = cached_linker(kg, embed, cache_root, name, types=None if types is None else list(types))
        built_with = (self.linker.cache_key, "hnsw", SEARCH.hnsw_m, SEARCH.hnsw_ef_construction)
        self.folder = Path(cache_root) / f"concepts_{stable_hash(*built_with)}"  # efSearch is set on load
        self.node_ids: list[str] = self.linker.node_ids
        self.node_names: list[str] = self.linker.node_names
        self.surfaces: list[str] = self.linker.surfaces
        self.surface_node = np.asarray([nodes[0] for nodes in self.linker.surface_nodes], dtype=np.int64)
        self.exact: dict[str, int] = {s: row for row, s in enumerate(self.surfaces)}  # normalized form -> row
        qualifiers = kg.qualifier_ids()
        self.qualifier = np.asarray([n in qualifiers for n in self.node_ids], dtype=bool)  # per node
        self._index = None

    def prepare(self) -> ConceptIndex:
        """Load the cached HNSW index, or embed the surface forms (the slow part, shared with the linker's
        cache) and build it; returns self."""
        if self._index is not None:
            return self
        import faiss

        from drehr.index.faiss_backend import make_faiss_index
        from foundation.outputs import cached_step

        built: list[Any] = []

        def build(tmp: Path) -> dict[str, Any]:
            self.linker.ensure_index()  # loaded from, or embedded into, the linker's cache
            flat = self.linker.index
            vectors = flat.reconstruct_n(0, flat.ntotal)  # [n_surfaces, d]
            logger.info("building the HNSW concept index over %d surface forms", flat.ntotal)
            index = make_faiss_index(SEARCH, "hnsw", vectors.shape[1], len(vectors))
            index.add(vectors)
            faiss.write_index(index, str(tmp / "index.faiss"))
            write_config(tmp, KIND, FORMAT_VERSION, {"num_surfaces": len(vectors), "dim": vectors.shape[1]})
            built.append(index)
            return {"num_surfaces": len(vectors), "linker": self.linker.cache_key}

        step = cached_step(
            self.folder,
            KIND,
            FORMAT_VERSION,
            self.folder.name,
            build,
            keep_concurrent=True,
            what="concept index",
        )
        if built:
            index = built[0]
        else:
            cfg = read_config(step.path, KIND, FORMAT_VERSION)
            with reading(step.path / "index.faiss", "concept index", ours=True):
                index = faiss.read_index(str(step.path / "index.faiss"))
            if index.ntotal != len(self.surfaces) or cfg["num_surfaces"] != len(self.surfaces):
                raise ArtifactError(
                    f"{step.path} holds {index.ntotal} vectors for {len(self.surfaces)} surface forms; "
                    "delete that folder (emerge wrote it) to rebuild it"
                )
        index.hnsw.efSearch = SEARCH.hnsw_ef_search
        self._index = index
        return self

    @property
    def dim(self) -> int:
        return int(self.prepare()._index.d)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` nearest surface forms of each row of `vectors` (float32 [q, d], unit rows):
        (cosines [q, k], surface rows [q, k]), best first, row -1 where fewer were found."""
        from kg.linking import check_embeddings

        if k < 1:
            raise UserInputError(f"k={k}; expected >= 1")
        vectors = check_embeddings(vectors, len(vectors))
        if vectors.shape[1] != self.dim:
            raise UserInputError(
                f"the query vectors are {vectors.shape[1]}-d, the concept index holds {self.dim}-d ones; "
                "use the encoder the index was built with"
            )
        return self._index.search(vectors, min(k, len(self.surfaces)))
