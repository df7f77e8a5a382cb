"""Knowledge for one patient, as EMERGE gathers it for its summary prompt.

Given the nodes an entity linker found (with how often each was mentioned): keep nodes of the
wanted types (EMERGE: diseases only), take up to `max_nodes` by frequency (ties: first seen; EMERGE's
rag/retrieve.py takes the 10 most frequent when at most 20 nodes are linked, else 10 at random), and
for each give the definition document "[name] ... [definition] ... [description]" and up to
`max_triples` 1-hop triples "(head, relation, tail)" with the node as head, sampled with a seed
derived from (seed, node id) so a rerun returns exactly the same knowledge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from foundation.errors import UserInputError
from kg.graph import KnowledgeGraph
from kg.schema import normalize_types

__all__ = ["NodeKnowledge", "gather_knowledge", "count_linked"]


@dataclass(frozen=True)
class NodeKnowledge:
    """What the summary prompt receives about one node."""

    node_id: str
    name: str
    type: str
    count: int
    document: str
    triples: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["triples"] = list(self.triples)
        return d


def count_linked(linked: Mapping[str, int] | Iterable[Any]) -> dict[str, int]:
    """Node id -> count from a {node_id: count} mapping, a list of node ids, or linker records
    ({"node_id": ...}; records with node_id None are ignored). Keeps first-seen order."""
    if isinstance(linked, Mapping):
        counts = {}
        for node_id, c in linked.items():
            if not isinstance(c, int) or c < 0:
                raise UserInputError(f"count {c!r} for node {node_id!r}; expected a non-negative int")
            counts[str(node_id)] = c
        return counts
    counts: dict[str, int] = {}
    for item in linked:
        node_id = item.get("node_id") if isinstance(item, Mapping) else item
        if node_id is None:
            continue
        if not isinstance(node_id, str):
            raise UserInputError(
                f"linked item {item!r}; expected a node id string or a record with 'node_id'"
            )
        counts[node_id] = counts.get(node_id, 0) + 1
    return counts


def gather_knowledge(
    kg: KnowledgeGraph,
    linked: Mapping[str, int] | Iterable[Any],
    max_nodes: int = 10,
    max_triples: int = 5,
    seed: int = 0,
    node_types: str | Iterable[str] | None = ("disease",),
) -> list[NodeKnowledge]:
    """EMERGE retrieval: up to `max_nodes` nodes by frequency, each with its document and triples.

    Args:
        linked: {node_id: count}, a list of node ids (repeats count), or linker records.
        node_types: keep only these node types (None keeps all).
    """
    if max_nodes < 0 or max_triples < 0:
        raise UserInputError(f"max_nodes={max_nodes}, max_triples={max_triples}; expected >= 0")
    types = normalize_types(
        list(node_types) if node_types is not None and not isinstance(node_types, str) else node_types,
        known=set(kg.nodes["type"].unique().to_list()),
    )
    counts = count_linked(linked)
    unknown = [n for n in counts if n not in kg]
    if unknown:
        raise UserInputError(
            f"linked node ids {unknown[:5]} are not in {kg.label!r}; link against the same graph"
        )
    order = {n: i for i, n in enumerate(counts)}
    kept = []
    for node_id in sorted(counts, key=lambda n: (-counts[n], order[n])):
        node = kg.node(node_id)
        if types is not None and node["type"] not in types:
            continue
        kept.append(
            NodeKnowledge(
                node_id,
                node["name"],
                node["type"],
                counts[node_id],
                kg.definition_document(node_id),
                tuple(kg.triples(node_id, k=max_triples, seed=seed)),
            )
        )
        if len(kept) >= max_nodes:
            break
    return kept
