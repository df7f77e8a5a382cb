"""`KnowledgeGraph`: nodes and typed, directed edges in PrimeKG's schema, fast at PrimeKG's scale.

Storage is columnar rather than a networkx graph of 8M edges built eagerly: the node table is a
polars DataFrame (id, type, name, source, synonyms, definition, description; row i is node i) and
the edges are three numpy arrays (src, dst, rel) sorted into CSR adjacency (`indptr`, targets,
relation codes) for outgoing and, built on first use, incoming edges. `to_networkx()` gives a
networkx view when one is wanted (best on a `subgraph`). `save(dir)` / `load(dir)` write
nodes.parquet + edges.parquet + a versioned config.json.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from foundation.artifacts import read_config, write_config
from foundation.errors import UserInputError
from foundation.inputs import reading
from foundation.outputs import cached_step, check_whole
from foundation.terms import normalize_term
from kg.schema import HYPERNYM_RELATIONS, NODE_COLUMNS

__all__ = ["KnowledgeGraph", "Relation", "QUALIFIER_ROOTS"]

logger = logging.getLogger(__name__)

KIND = "knowledge_graph"
FORMAT_VERSION = 1
Direction = Literal["out", "in", "both"]
Relation = tuple[str, str]  # (relation, display_relation)

QUALIFIER_ROOTS: dict[str, str] = {
    "HP:0012823": "Clinical modifier",  # laterality, onset, severity, course ("Acute", "Right", "Position")
    "HP:0000005": "Mode of inheritance",
    "HP:0040279": "Frequency",
    "HP:0032443": "Past medical history",
    "HP:0032223": "Blood group",
}
"""HPO's branches that hold no phenotype: these terms and every term below them over `is_a` qualify a
finding and are never a disease or a finding themselves (see `KnowledgeGraph.qualifier_ids`). HPO's other
top-level branches, "Phenotypic abnormality" (HP:0000118) and "Biospecimen phenotypic feature"
(HP:0020228: pathology findings such as "Abnormal lymph-node tissue architecture"), are kept."""
_HPO_ROOT = "HP:0000001"  # "All": the ontology's root, not a term of its own
_PHENOTYPIC_ABNORMALITY = "HP:0000118"


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable sort order of `keys` and the CSR row pointer (shape (n + 1,)) over 0..n-1."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return order, indptr


class KnowledgeGraph:
    """A typed, directed multigraph over named nodes.

    Args:
        nodes: one row per node with the columns of `kg.schema.NODE_COLUMNS`; ids must be unique
            and names non-empty (the readers guarantee both; see `kg.build.build_graph`).
        src, dst: int arrays (shape (E,)) of node row positions.
        rel: int array (shape (E,)) of positions in `relations`.
        relations: the distinct (relation, display_relation) pairs.
        name: a label for logs and stats.
    """

    def __init__(
        self,
        nodes: pl.DataFrame,
        src: np.ndarray,
        dst: np.ndarray,
        rel: np.ndarray,
        relations: list[Relation],
        name: str = "kg",
    ) -> None:
        missing = [c for c in NODE_COLUMNS if c not in nodes.columns]
        if missing:
            raise UserInputError(
                f"node table lacks columns {missing} (found {nodes.columns}); expected {list(NODE_COLUMNS)}"
            )
        if not (len(src) == len(dst) == len(rel)):
            raise UserInputError(
                f"edge arrays differ in length: src {len(src)}, dst {len(dst)}, rel {len(rel)}"
            )
        self.label = name  # the graph's name ("starter", "primekg", ...)
        self.nodes = nodes.select(NODE_COLUMNS)
        self.relations: list[Relation] = [tuple(r) for r in relations]  # type: ignore[misc]
        self._ids: list[str] = self.nodes["id"].to_list()
        self._index: dict[str, int] = {node_id: i for i, node_id in enumerate(self._ids)}
        if len(self._index) != len(self._ids):
            dup = self.nodes["id"].filter(self.nodes["id"].is_duplicated()).unique().head(5).to_list()
            raise UserInputError(
                f"duplicate node ids {dup}; build graphs with kg.build.build_graph, which merges them"
            )
        self._names: list[str] = self.nodes["name"].to_list()
        n = len(self._ids)
        src = np.asarray(src, dtype=np.int32)
        dst = np.asarray(dst, dtype=np.int32)
        rel = np.asarray(rel, dtype=np.int16)
        if len(src) and (src.min() < 0 or src.max() >= n or dst.min() < 0 or dst.max() >= n):
            raise UserInputError(f"edge endpoints out of range for {n} nodes")
        order, self._out_ptr = _csr(src, n)
        self._src, self._dst, self._rel = src[order], dst[order], rel[order]
        self._in: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._lookup: dict[str, list[int]] | None = None
        self._qualifiers: frozenset[str] | None = None
        self.build_report: dict[str, int] = {}  # counted skips from kg.build.build_graph

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self._ids)

    @property
    def num_edges(self) -> int:
        return int(len(self._src))

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._index

    def __repr__(self) -> str:
        return f"KnowledgeGraph(name={self.label!r}, nodes={len(self)}, edges={self.num_edges})"

    def _idx(self, node_id: str) -> int:
        try:
            return self._index[node_id]
        except KeyError:
            raise UserInputError(
                f"node {node_id!r} is not in knowledge graph {self.label!r}; look ids up with kg.find(name)"
            ) from None

    def node(self, node_id: str) -> dict[str, Any]:
        """The node's row as a dict: id, type, name, source, synonyms, definition, description."""
        return self.nodes.row(self._idx(node_id), named=True)

    def name(self, node_id: str) -> str:
        """The node's name (its preferred term)."""
        return self._names[self._idx(node_id)]

    name_of = name

    def lookup(self, term: str) -> list[str]:
        """Alias of `find` (the name drehr's stage-I code uses)."""
        return self.find(term)

    def synonyms(self, node_id: str) -> list[str]:
        syns = self.nodes["synonyms"][self._idx(node_id)]
        return [] if syns is None else list(syns)

    def node_ids(self) -> list[str]:
        return list(self._ids)

    # ------------------------------------------------------------------ names
    def surface_forms(self) -> dict[str, list[str]]:
        """Lower-cased names and synonyms -> the ids of the nodes carrying them (for matching)."""
        return {term: [self._ids[i] for i in idxs] for term, idxs in self._surface_index().items()}

    def _surface_index(self) -> dict[str, list[int]]:
        if self._lookup is None:
            lookup: dict[str, list[int]] = {}
            for i, (name, syns) in enumerate(zip(self._names, self.nodes["synonyms"].to_list(), strict=True)):
                for term in [name, *(syns or [])]:
                    key = normalize_term(str(term))
                    if key:
                        bucket = lookup.setdefault(key, [])
                        if not bucket or bucket[-1] != i:
                            bucket.append(i)
            self._lookup = lookup
        return self._lookup

    def find(self, name: str) -> list[str]:
        """Ids of the nodes whose name or a synonym equals `name` (case and spacing ignored)."""
        return [self._ids[i] for i in self._surface_index().get(normalize_term(name), [])]

    # ------------------------------------------------------------------ qualifiers
    def _hpo_positions(self, hpo_id: str) -> list[int]:
        """Positions of the node with HPO id "HP:0012823" however a reader spelled it: as is (starter KG),
        or PrimeKG-style "HPO:12823" / "HPO:0012823"."""
        number = hpo_id.split(":", 1)[1]
        spellings = (hpo_id, f"HPO:{int(number)}", f"HPO:{number}")
        return [self._index[s] for s in dict.fromkeys(spellings) if s in self._index]

    def _hierarchy(self, positions: Iterable[int], direction: Direction) -> set[int]:
        """`positions` and every node above ("out": hypernyms) or below ("in") them over directed `is_a`."""
        codes = np.asarray(
            [i for i, (r, _) in enumerate(self.relations) if r in HYPERNYM_RELATIONS], np.int16
        )
        seen = set(positions)
        frontier = list(seen) if len(codes) else []
        while frontier:
            others, _ = self._edges_of(frontier.pop(), direction, codes)
            for other in others.tolist():
                if other not in seen:
                    seen.add(other)
                    frontier.append(other)
        return seen

    def qualifier_ids(self) -> frozenset[str]:
        """Ids of the terms that qualify a finding and are never a disease or a finding themselves: the
        roots of `QUALIFIER_ROOTS` (HPO's clinical modifiers, modes of inheritance, frequencies, past
        medical history, blood groups) and every node below them over directed `is_a` edges, plus HPO's
        root "All"; a term that HPO also places under "Phenotypic abnormality" (HP:0000118) is a
        phenotype and is not one. Computed once. A graph without directed `is_a` edges (PrimeKG's
        phenotype hierarchy has no direction) gets only the roots themselves."""
        if self._qualifiers is None:
            below = self._hierarchy((p for root in QUALIFIER_ROOTS for p in self._hpo_positions(root)), "in")
            phenotype = set(self._hpo_positions(_PHENOTYPIC_ABNORMALITY))
            found = {i for i in below if not phenotype & self._hierarchy([i], "out")}
            found |= set(self._hpo_positions(_HPO_ROOT))
            self._qualifiers = frozenset(self._ids[i] for i in found)
        return self._qualifiers

    def is_qualifier(self, node_id: str) -> bool:
        """True for a modifier or qualifier term ("Acute", "Right", "Position", "Autosomal dominant
        inheritance", ...): see `qualifier_ids`. Never a disease entity, in any entity mode."""
        return node_id in self.qualifier_ids()

    def is_qualifier_term(self, term: str) -> bool:
        """True when `term` is a name or synonym in the graph (case and spacing ignored) and every node
        carrying it is a qualifier ("acute", "right"): such a mention is never a disease."""
        nodes = self._surface_index().get(normalize_term(term))
        if not nodes:
            return False
        qualifiers = self.qualifier_ids()
        return all(self._ids[i] in qualifiers for i in nodes)

    def definition_document(self, node_id: str) -> str:
        """EMERGE's node document, "[disease name]{name} [definition]{definition} [description]{description}".

        The format of EMERGE's rag/retrieve.py (yhzhu99/EMERGE), with the node's type in the first tag
        ("[drug name]", "[effect/phenotype name]") and absent fields left empty; "" for a node with
        neither a definition nor a description (EMERGE writes no document for those). PrimeKG's reader
        stores EMERGE's definition part ("{mondo_definition}. {orphanet_definition}") as the definition.
        """
        row = self.node(node_id)
        definition, description = row["definition"] or "", row["description"] or ""
        if not (definition or description):
            return ""
        return f"[{row['type']} name]{row['name']} [definition]{definition} [description]{description}"

    # ------------------------------------------------------------------ edges
    def _incoming(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._in is None:
            order, indptr = _csr(self._dst, len(self))
            self._in = (indptr, self._src[order], self._rel[order])
        return self._in

    def _relation_codes(self, relation: str | Iterable[str] | None) -> np.ndarray | None:
        if relation is None:
            return None
        wanted = {relation} if isinstance(relation, str) else set(relation)
        codes = [i for i, (r, d) in enumerate(self.relations) if r in wanted or d in wanted]
        if not codes:
            known = sorted({r for r, _ in self.relations})
            raise UserInputError(
                f"relation {sorted(wanted)} does not occur in {self.label!r}; relations present: {known}"
            )
        return np.asarray(codes, dtype=np.int16)

    def _edges_of(
        self, i: int, direction: Direction, codes: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(other node positions, relation codes) of node position i's edges."""
        parts = []
        if direction in ("out", "both"):
            a, b = self._out_ptr[i], self._out_ptr[i + 1]
            parts.append((self._dst[a:b], self._rel[a:b]))
        if direction in ("in", "both"):
            indptr, others, rels = self._incoming()
            a, b = indptr[i], indptr[i + 1]
            parts.append((others[a:b], rels[a:b]))
        other = np.concatenate([p[0] for p in parts])
        rel = np.concatenate([p[1] for p in parts])
        if codes is not None:
            keep = np.isin(rel, codes)
            other, rel = other[keep], rel[keep]
        return other, rel

    def neighbors(
        self, node_id: str, relation: str | Iterable[str] | None = None, direction: Direction = "out"
    ) -> list[str]:
        """Distinct neighbour ids (in edge order), optionally only over `relation` (name or display name)."""
        if relation is None and direction == "out":  # fast path: one CSR slice
            i = self._idx(node_id)
            ids = self._ids
            return [
                ids[j] for j in dict.fromkeys(self._dst[self._out_ptr[i] : self._out_ptr[i + 1]].tolist())
            ]
        other, _ = self._edges_of(self._idx(node_id), direction, self._relation_codes(relation))
        return [self._ids[j] for j in dict.fromkeys(other.tolist())]

    def edges(self, node_id: str, relation: str | Iterable[str] | None = None) -> list[tuple[str, str, str]]:
        """Outgoing edges as (relation, display_relation, tail id)."""
        other, rel = self._edges_of(self._idx(node_id), "out", self._relation_codes(relation))
        return [(*self.relations[r], self._ids[j]) for j, r in zip(other.tolist(), rel.tolist(), strict=True)]

    def hypernyms(self, node_id: str) -> list[str]:
        """Parents over directed `is_a` edges (PrimeKG's own parent-child rows carry no direction)."""
        codes = [i for i, (r, _) in enumerate(self.relations) if r in HYPERNYM_RELATIONS]
        if not codes:
            return []
        other, _ = self._edges_of(self._idx(node_id), "out", np.asarray(codes, dtype=np.int16))
        return [self._ids[j] for j in dict.fromkeys(other.tolist())]

    def related(self, node_id: str) -> list[str]:
        """Outgoing neighbours over every relation except the hierarchy (is_a) and same_as links:
        DR.EHR's "related concepts"."""
        codes = [
            i for i, (r, _) in enumerate(self.relations) if r not in HYPERNYM_RELATIONS and r != "same_as"
        ]
        if not codes:
            return []
        other, _ = self._edges_of(self._idx(node_id), "out", np.asarray(codes, dtype=np.int16))
        return [self._ids[j] for j in dict.fromkeys(other.tolist())]

    def triples(self, node_id: str, k: int | None = None, seed: int = 0) -> list[str]:
        """Outgoing edges as "(head, relation, tail)" with this node as head, display names.

        With `k`, at most k distinct triples sampled without replacement by a generator seeded
        from (seed, node_id), so the same call always returns the same triples in edge order.
        """
        i = self._idx(node_id)
        other, rel = self._edges_of(i, "out", None)
        head = self._names[i]
        texts = list(
            dict.fromkeys(
                f"({head}, {self.relations[r][1] or self.relations[r][0]}, {self._names[j]})"
                for j, r in zip(other.tolist(), rel.tolist(), strict=True)
            )
        )
        if k is not None and len(texts) > k:
            from foundation.artifacts import stable_hash

            rng = np.random.default_rng(int(stable_hash(seed, node_id), 16))
            picked = np.sort(rng.choice(len(texts), size=k, replace=False))
            texts = [texts[p] for p in picked]
        return texts

    def subgraph(self, node_ids: Iterable[str], k: int = 1) -> KnowledgeGraph:
        """The graph induced by the nodes within k hops (either direction) of `node_ids`."""
        if k < 0:
            raise UserInputError(f"k={k} hops; expected k >= 0")
        frontier = np.unique(np.asarray([self._idx(n) for n in node_ids], dtype=np.int64))
        seen = frontier
        for _ in range(k):
            if not len(frontier):
                break
            nxt = [self._edges_of(int(i), "both", None)[0] for i in frontier]
            cand = np.unique(np.concatenate(nxt)) if nxt else np.empty(0, dtype=np.int64)
            frontier = np.setdiff1d(cand, seen)
            seen = np.union1d(seen, frontier)
        return self._induced(seen)

    def _induced(self, keep: np.ndarray) -> KnowledgeGraph:
        remap = np.full(len(self), -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        mask = (remap[self._src] >= 0) & (remap[self._dst] >= 0)
        return KnowledgeGraph(
            self.nodes[keep.tolist()],
            remap[self._src[mask]],
            remap[self._dst[mask]],
            self._rel[mask],
            self.relations,
            name=f"{self.label}[sub]",
        )

    def to_networkx(self):
        """A networkx MultiDiGraph view (node attributes from the node table; edge keys are relations).

        Meant for subgraphs: at PrimeKG's full size this allocates several GB."""
        import networkx as nx

        if self.num_edges > 2_000_000:
            logger.warning(
                "to_networkx on %d edges allocates several GB; consider kg.subgraph(...) first",
                self.num_edges,
            )
        g = nx.MultiDiGraph(name=self.label)
        for row in self.nodes.iter_rows(named=True):
            g.add_node(row["id"], **{c: row[c] for c in NODE_COLUMNS if c != "id"})
        ids = self._ids
        g.add_edges_from(
            (
                ids[s],
                ids[d],
                self.relations[r][0],
                {"relation": self.relations[r][0], "display_relation": self.relations[r][1]},
            )
            for s, d, r in zip(self._src.tolist(), self._dst.tolist(), self._rel.tolist(), strict=True)
        )
        return g

    def edge_frame(self) -> pl.DataFrame:
        """All edges as (head, relation, display_relation, tail) ids; memory grows with edge count."""
        rel_names = pl.Series([r for r, _ in self.relations], dtype=pl.String)
        rel_disp = pl.Series([d for _, d in self.relations], dtype=pl.String)
        ids = self.nodes["id"]
        return pl.DataFrame(
            {
                "head": ids.gather(self._src),
                "relation": rel_names.gather(self._rel.astype(np.int64)),
                "display_relation": rel_disp.gather(self._rel.astype(np.int64)),
                "tail": ids.gather(self._dst),
            }
        )

    def stats(self) -> dict[str, Any]:
        """Counts of nodes, edges, node types, relations, and nodes with a definition or synonyms."""
        types = self.nodes.group_by("type").len().sort("len", descending=True)
        rel_counts = np.bincount(self._rel.astype(np.int64), minlength=len(self.relations))
        by_rel: dict[str, int] = {}
        for (r, _), c in zip(self.relations, rel_counts.tolist(), strict=True):
            by_rel[r] = by_rel.get(r, 0) + c
        return {
            "name": self.label,
            "nodes": len(self),
            "edges": self.num_edges,
            "node_types": dict(zip(types["type"].to_list(), types["len"].to_list(), strict=True)),
            "relations": dict(sorted(by_rel.items(), key=lambda kv: -kv[1])),
            "with_definition": int(self.nodes["definition"].fill_null("").str.len_chars().gt(0).sum()),
            "with_synonyms": int(self.nodes["synonyms"].list.len().fill_null(0).gt(0).sum()),
            "surface_forms": len(self._surface_index()),
        }

    # ------------------------------------------------------------------ persistence
    def content_fingerprint(self) -> str:
        """Hash of everything the graph holds: every node column (names, synonyms, definitions,
        descriptions, ...) and every edge. What a summary built from the graph depends on; computed once."""
        if getattr(self, "_content_fingerprint", None) is None:
            import hashlib

            h = hashlib.sha256()
            for col in self.nodes.columns:
                h.update(col.encode())
                h.update(repr(self.nodes[col].to_list()).encode("utf-8"))
            for array in (self._src, self._dst, self._rel):
                h.update(np.ascontiguousarray(array).tobytes())
            h.update(repr(self.relations).encode("utf-8"))
            self._content_fingerprint = h.hexdigest()[:16]
        return self._content_fingerprint

    def save(self, directory: str | os.PathLike) -> Path:
        """Save into `directory` (new, empty, or a KG folder emerge wrote; a user's folder is refused)."""
        return cached_step(
            directory, KIND, FORMAT_VERSION, None, self.write_into, force=True, what="KG folder"
        ).path

    def write_into(self, directory: str | os.PathLike) -> dict[str, Any]:
        """Write nodes.parquet, edges.parquet (src, dst, rel) and config.json into the folder `directory`."""
        d = Path(directory)
        self.nodes.write_parquet(d / "nodes.parquet")
        pl.DataFrame({"src": self._src, "dst": self._dst, "rel": self._rel}).write_parquet(
            d / "edges.parquet"
        )
        write_config(
            d,
            KIND,
            FORMAT_VERSION,
            {
                "name": self.label,
                "num_nodes": len(self),
                "num_edges": self.num_edges,
                "relations": [list(r) for r in self.relations],
            },
        )
        return {"num_nodes": len(self), "num_edges": self.num_edges}

    @classmethod
    def load(cls, directory: str | os.PathLike) -> KnowledgeGraph:
        """Read a directory written by `save`; raises ArtifactError on a wrong kind or version."""
        d = Path(directory)
        check_whole(d, KIND, "KG folder", "save or build the graph again")
        cfg = read_config(d, KIND, FORMAT_VERSION)
        with reading(d / "nodes.parquet", "KG nodes table", ours=True):
            nodes = pl.read_parquet(d / "nodes.parquet")
        with reading(d / "edges.parquet", "KG edges table", ours=True):
            edges = pl.read_parquet(d / "edges.parquet")
        graph = cls(
            nodes,
            edges["src"].to_numpy(),
            edges["dst"].to_numpy(),
            edges["rel"].to_numpy(),
            [tuple(r) for r in cfg["relations"]],
            name=cfg.get("name", d.name),
        )
        if len(graph) != cfg["num_nodes"] or graph.num_edges != cfg["num_edges"]:
            raise UserInputError(
                f"{d} is incomplete ({len(graph)} nodes / {graph.num_edges} edges, config says "
                f"{cfg['num_nodes']} / {cfg['num_edges']}); save the graph again"
            )
        return graph
