"""`EntityLinker`: map free-text mentions to knowledge-graph nodes.

EMERGE's linking (entity and node names embedded, top-1 accepted above a cosine threshold: 0.6 on
MIMIC-III, 0.7 on MIMIC-IV), preceded by an exact lookup: a mention equal to a node name or synonym
(case and spacing ignored) links with score 1.0. The dense step searches a FAISS inner-product
index over every distinct name and synonym of the allowed node types. The encoder is any callable
`list[str] -> np.ndarray` (shape (n, d), float32, rows L2-normalized), so `kg` stays independent of
the retriever that provides it. When one surface names several nodes, the node whose *name* it is
wins over nodes that have it as a synonym, then the earlier type in `types`, then graph order.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from tqdm.auto import tqdm

from foundation.artifacts import read_config, write_config
from foundation.errors import ArtifactError, UserInputError
from foundation.inputs import reading
from foundation.outputs import cached_step, check_whole, reusable
from foundation.terms import normalize_term
from kg.graph import KnowledgeGraph
from kg.schema import normalize_types

__all__ = ["EntityLinker", "Encoder", "check_embeddings", "graph_fingerprint", "cached_linker"]

logger = logging.getLogger(__name__)

Encoder = Callable[[list[str]], np.ndarray]
KIND = "entity_linker"
FORMAT_VERSION = 1
_CACHE_LAYOUT = 2  # cache folders with an emerge manifest (older ones are left alone, never deleted)


def check_embeddings(emb: Any, n: int) -> np.ndarray:
    """Raise unless `emb` is a float32 array of shape (n, d) with unit-norm rows."""
    if not isinstance(emb, np.ndarray) or emb.ndim != 2 or emb.shape[0] != n:
        raise UserInputError(
            f"encoder returned {type(emb).__name__} {getattr(emb, 'shape', '')}; expected a numpy array "
            f"of shape ({n}, d)"
        )
    if emb.dtype != np.float32:
        raise UserInputError(
            f"encoder returned dtype {emb.dtype}; expected float32 (cast with .astype(np.float32))"
        )
    norms = np.linalg.norm(emb, axis=1)
    if n and not np.allclose(norms, 1.0, atol=1e-3):
        raise UserInputError(
            f"encoder rows have norms in [{norms.min():.3f}, {norms.max():.3f}]; expected L2-normalized "
            "rows (e.g. normalize_embeddings=True)"
        )
    return np.ascontiguousarray(emb)


def graph_fingerprint(kg: KnowledgeGraph) -> str:
    """Hash of the graph's node ids, types, names and synonyms (what a linker index depends on)."""
    h = hashlib.sha256()
    for col in ("id", "type", "name"):
        h.update("\x1f".join(kg.nodes[col].to_list()).encode("utf-8"))
    h.update(str(kg.nodes["synonyms"].to_list()).encode("utf-8"))
    return h.hexdigest()[:16]


def _encode(encoder: Encoder, texts: list[str], batch_size: int, desc: str) -> np.ndarray:
    """`encoder` over `texts` in calls of `batch_size` -> float32 [n, d] in input order. The texts go
    out sorted by length (longest first), so that each call pads little: ~15 % faster than graph order
    on the starter KG's surface forms."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    chunks = []
    for i in tqdm(
        range(0, len(texts), batch_size), desc=desc, disable=len(texts) <= batch_size, unit="batch"
    ):
        batch = [texts[j] for j in order[i : i + batch_size]]
        chunks.append(check_embeddings(encoder(batch), len(batch)))
    out = np.empty_like(chunks[0], shape=(len(texts), chunks[0].shape[1]))
    out[order] = np.concatenate(chunks)
    return out


class EntityLinker:
    """Link mentions to nodes of `kg` (see module docstring).

    Args:
        kg: the knowledge graph.
        encoder: texts -> float32 L2-normalized array (n, d).
        threshold: accept the dense top-1 only when its cosine is >= threshold.
        types: node types to link to ("disease,phenotype" or a list); None for all.
        top_k: neighbours fetched from the index per mention.
    """

    def __init__(
        self,
        kg: KnowledgeGraph | None,
        encoder: Encoder,
        threshold: float = 0.7,
        types: str | Sequence[str] | None = None,
        top_k: int = 5,
        batch_size: int = 256,
        _state: dict[str, Any] | None = None,
    ) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise UserInputError(
                f"threshold={threshold}; expected a cosine in [-1, 1] (EMERGE uses 0.6 or 0.7)"
            )
        if top_k < 1:
            raise UserInputError(f"top_k={top_k}; expected >= 1")
        self.encoder, self.threshold, self.top_k, self.batch_size = (
            encoder,
            float(threshold),
            top_k,
            batch_size,
        )
        if _state is not None:  # from load()
            self.__dict__.update(_state)
            return
        if kg is None:
            raise UserInputError("EntityLinker needs a KnowledgeGraph (or use EntityLinker.load)")
        self.types = normalize_types(types, known=set(kg.nodes["type"].unique().to_list()))
        self.kg_fingerprint = graph_fingerprint(kg)
        nodes = kg.nodes.with_row_index("_pos")
        if self.types is not None:
            nodes = nodes.filter(pl.col("type").is_in(list(self.types)))
        if nodes.height == 0:
            raise UserInputError(
                f"no nodes of types {self.types} in {kg.label!r}; present: {kg.stats()['node_types']}"
            )
        self.node_ids: list[str] = nodes["id"].to_list()
        self.node_names: list[str] = nodes["name"].to_list()
        self.node_types: list[str] = nodes["type"].to_list()
        rank = {t: r for r, t in enumerate(self.types or ())}
        entries: dict[str, list[tuple[int, int, int]]] = {}
        for local, (name, syns, typ) in enumerate(
            zip(self.node_names, nodes["synonyms"].to_list(), self.node_types, strict=True)
        ):
            for is_syn, term in [(0, name), *((1, s) for s in (syns or []))]:
                key = normalize_term(term)
                if key:
                    entries.setdefault(key, []).append((is_syn, rank.get(typ, 0), local))
        self.surfaces: list[str] = list(entries)
        self.surface_nodes: list[list[int]] = [[e[2] for e in sorted(set(v))] for v in entries.values()]
        self.index = None  # built on the first mention that needs the dense step (see _ensure_index)
        self.dim: int | None = None
        self.cache_dir: Path | None = None  # where _ensure_index saves the linker once built
        self._exact = {s: i for i, s in enumerate(self.surfaces)}

    def _ensure_index(self) -> None:
        """Embed every surface form into a FAISS inner-product index (once; the slow part:
        ~120k strings for the starter KG), then save to `cache_dir` when one is set."""
        if self.index is not None:
            return
        import faiss

        emb = _encode(self.encoder, self.surfaces, self.batch_size, "embedding KG surface forms")
        index = faiss.IndexFlatIP(emb.shape[1])
        index.add(emb)
        self.index, self.dim = index, int(emb.shape[1])
        if self.cache_dir is not None:
            _save_cached(self, self.cache_dir)

    def ensure_index(self) -> None:
        """Embed (or have loaded) the surface-form index now rather than on the first dense query."""
        self._ensure_index()

    def __len__(self) -> int:
        return len(self.surfaces)

    def _record(self, mention: str, surface_row: int | None, score: float) -> dict[str, Any]:
        if surface_row is None:
            return {"mention": mention, "node_id": None, "node_name": None, "score": round(score, 4)}
        local = self.surface_nodes[surface_row][0]
        return {
            "mention": mention,
            "node_id": self.node_ids[local],
            "node_name": self.node_names[local],
            "score": round(score, 4),
        }

    def link(self, mentions: Sequence[str]) -> list[dict[str, Any]]:
        """One record {mention, node_id, node_name, score} per mention, in order.

        node_id / node_name are None when neither an exact match nor a dense top-1 at or above
        the threshold exists; score is then the best cosine found (or 0.0 for an empty mention).
        """
        if isinstance(mentions, str):
            raise UserInputError("link() takes a list of mentions, got one string; wrap it in a list")
        keys = [normalize_term(m) for m in mentions]
        out: list[dict[str, Any] | None] = [None] * len(keys)
        pending: dict[str, list[int]] = {}
        for i, (m, key) in enumerate(zip(mentions, keys, strict=True)):
            if not key:
                out[i] = self._record(m, None, 0.0)
            elif key in self._exact:
                out[i] = self._record(m, self._exact[key], 1.0)
            else:
                pending.setdefault(key, []).append(i)
        if pending:
            self._ensure_index()
            queries = list(pending)
            emb = _encode(self.encoder, queries, self.batch_size, "embedding mentions")
            if emb.shape[1] != self.dim:
                raise UserInputError(
                    f"encoder gives {emb.shape[1]}-d vectors, the index holds {self.dim}-d ones; "
                    "use the encoder the index was built with"
                )
            scores, rows = self.index.search(emb, min(self.top_k, len(self.surfaces)))
            for q, key in enumerate(queries):
                best, row = float(scores[q, 0]), int(rows[q, 0])
                accepted = row if row >= 0 and best >= self.threshold else None
                for i in pending[key]:
                    out[i] = self._record(mentions[i], accepted, best)
        return out  # type: ignore[return-value]

    def link_counts(self, mentions: Sequence[str]) -> dict[str, int]:
        """Linked node id -> number of mentions linked to it (the input of `gather_knowledge`)."""
        counts: dict[str, int] = {}
        for rec in self.link(mentions):
            if rec["node_id"] is not None:
                counts[rec["node_id"]] = counts.get(rec["node_id"], 0) + 1
        return counts

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike) -> Path:
        """Save into `directory` (new, empty, or a linker folder emerge wrote; a user's folder is refused)."""
        return cached_step(
            directory, KIND, FORMAT_VERSION, None, self.write_into, force=True, what="linker folder"
        ).path

    def write_into(self, directory: str | os.PathLike) -> dict[str, Any]:
        """Write index.faiss, surfaces.parquet, nodes.parquet and config.json into the folder `directory`."""
        import faiss

        self._ensure_index()
        d = Path(directory)
        faiss.write_index(self.index, str(d / "index.faiss"))
        pl.DataFrame(
            {"surface": self.surfaces, "nodes": self.surface_nodes},
            schema={"surface": pl.String, "nodes": pl.List(pl.Int32)},
        ).write_parquet(d / "surfaces.parquet")
        pl.DataFrame({"id": self.node_ids, "name": self.node_names, "type": self.node_types}).write_parquet(
            d / "nodes.parquet"
        )
        write_config(
            d,
            KIND,
            FORMAT_VERSION,
            {
                "dim": self.dim,
                "threshold": self.threshold,
                "types": self.types,
                "top_k": self.top_k,
                "num_surfaces": len(self.surfaces),
                "kg_fingerprint": self.kg_fingerprint,
            },
        )
        return {"num_surfaces": len(self.surfaces)}

    @classmethod
    def load(
        cls, directory: str | os.PathLike, encoder: Encoder, threshold: float | None = None
    ) -> EntityLinker:
        """Read a saved linker; refuses an encoder whose output dimension differs from the index's."""
        import faiss

        d = Path(directory)
        check_whole(d, KIND, "linker index folder")
        cfg = read_config(d, KIND, FORMAT_VERSION)
        probe = check_embeddings(encoder(["dimension probe"]), 1)
        if probe.shape[1] != cfg["dim"]:
            raise ArtifactError(
                f"{d} holds {cfg['dim']}-d vectors but the encoder gives {probe.shape[1]}-d ones; "
                "load it with the encoder it was built with, or build a new linker"
            )
        with reading(d, "linker index folder", ours=True):
            surf = pl.read_parquet(d / "surfaces.parquet")
            nodes = pl.read_parquet(d / "nodes.parquet")
            index = faiss.read_index(str(d / "index.faiss"))
        if index.ntotal != surf.height or surf.height != cfg["num_surfaces"]:
            raise ArtifactError(
                f"{d} is inconsistent (index {index.ntotal} rows, {surf.height} surfaces); build it again"
            )
        surfaces = surf["surface"].to_list()
        state = {
            "types": tuple(cfg["types"]) if cfg["types"] else None,
            "kg_fingerprint": cfg["kg_fingerprint"],
            "node_ids": nodes["id"].to_list(),
            "node_names": nodes["name"].to_list(),
            "node_types": nodes["type"].to_list(),
            "surfaces": surfaces,
            "surface_nodes": surf["nodes"].to_list(),
            "index": index,
            "dim": cfg["dim"],
            "_exact": {s: i for i, s in enumerate(surfaces)},
            "cache_dir": None,
        }
        return cls(
            None,
            encoder,
            threshold=cfg["threshold"] if threshold is None else threshold,
            top_k=cfg["top_k"],
            _state=state,
        )


def _save_cached(linker: EntityLinker, target: Path) -> None:
    cached_step(
        target,
        KIND,
        FORMAT_VERSION,
        target.name,
        linker.write_into,
        keep_concurrent=True,
        what="linker index cache",
    )
    logger.info("saved linker index to %s", target)


def cached_linker(
    kg: KnowledgeGraph,
    encoder: Encoder,
    cache_root: str | os.PathLike,
    encoder_name: str,
    threshold: float = 0.7,
    types: str | Sequence[str] | None = None,
) -> EntityLinker:
    """The linker for (graph, encoder_name, types), its dense index cached under `cache_root`.

    The folder name hashes the graph's fingerprint, the encoder's name and the types, so another
    graph or encoder never reuses a stale index. A cached index is loaded; otherwise the linker
    is built (cheap) and its index is embedded and saved the first time a mention needs it. The
    linker's `cache_key` attribute is that folder's hash.
    """
    from foundation.artifacts import stable_hash

    norm_types = normalize_types(types, known=set(kg.nodes["type"].unique().to_list()))
    key = stable_hash(graph_fingerprint(kg), encoder_name, norm_types, FORMAT_VERSION, _CACHE_LAYOUT)
    target = Path(cache_root) / f"linker_{key}"
    if reusable(target, KIND, FORMAT_VERSION, target.name) is not None:
        logger.info("loading cached linker index %s", target)
        linker = EntityLinker.load(target, encoder, threshold=threshold)
    else:
        linker = EntityLinker(kg, encoder, threshold=threshold, types=norm_types)
        linker.cache_dir = target
    linker.cache_key = key  # names the cached index, for structures derived from it (emerge's concept index)
    return linker
