"""Turn a node table and an edge table (keyed by any node key) into a checked `KnowledgeGraph`.

The one place where bad input is handled, for every reader: missing columns raise; empty names,
dangling edge ends, unknown relations and duplicate edges are counted skips (logged, and kept in
`graph.build_report`); nodes sharing an id are merged into the first one (counted).
"""

from __future__ import annotations

import logging
from typing import Literal

import polars as pl

from foundation.errors import UserInputError
from kg.graph import KnowledgeGraph
from kg.schema import KNOWN_RELATIONS

__all__ = ["build_graph", "UnknownRelations"]

logger = logging.getLogger(__name__)

UnknownRelations = Literal["skip", "error", "keep"]
_NODE_REQUIRED = ("key", "id", "type", "name", "source")
_EDGE_REQUIRED = ("head", "tail", "relation", "display_relation")


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UserInputError(
            f"{what} lacks columns {missing} (found {frame.columns}); expected at least {list(columns)}"
        )


def build_graph(
    nodes: pl.DataFrame, edges: pl.DataFrame, name: str = "kg", unknown_relations: UnknownRelations = "skip"
) -> KnowledgeGraph:
    """Build a graph from `nodes` (key, id, type, name, source[, synonyms, definition, description])
    and `edges` (head, tail, relation, display_relation; head/tail are node keys).

    Args:
        unknown_relations: what to do with relations outside `kg.schema.KNOWN_RELATIONS`:
            "skip" (drop, counted), "error" (raise, listing them) or "keep".
    """
    _require(nodes, _NODE_REQUIRED, "node table")
    _require(edges, _EDGE_REQUIRED, "edge table")
    if unknown_relations not in ("skip", "error", "keep"):
        raise UserInputError(f"unknown_relations={unknown_relations!r}; expected 'skip', 'error' or 'keep'")
    report: dict[str, int] = {}

    for col, dtype in (
        ("synonyms", pl.List(pl.String)),
        ("definition", pl.String),
        ("description", pl.String),
    ):
        if col not in nodes.columns:
            nodes = nodes.with_columns(pl.lit(None, dtype=dtype).alias(col))
    nodes = nodes.with_columns(
        pl.col("id").cast(pl.String).str.strip_chars(),
        pl.col("name").cast(pl.String).str.strip_chars(),
        pl.col("synonyms").fill_null(pl.lit([], dtype=pl.List(pl.String))),
    )
    bad = nodes.filter(
        pl.col("name").is_null() | (pl.col("name") == "") | pl.col("id").is_null() | (pl.col("id") == "")
    )
    report["nodes_empty_name_or_id"] = bad.height
    nodes = nodes.filter(
        pl.col("name").is_not_null()
        & (pl.col("name") != "")
        & pl.col("id").is_not_null()
        & (pl.col("id") != "")
    )
    before = nodes.height
    nodes = nodes.unique(subset="key", keep="first", maintain_order=True)
    report["nodes_duplicate_key"] = before - nodes.height

    # Nodes sharing an id: keep the first row, point the other keys at it.
    nodes = nodes.with_columns(pl.int_range(pl.len()).alias("_row"))
    first = nodes.group_by("id", maintain_order=True).agg(pl.col("_row").first().alias("_canon"))
    nodes = nodes.join(first, on="id", how="left", maintain_order="left")
    report["nodes_duplicate_id_merged"] = int((nodes["_row"] != nodes["_canon"]).sum())
    key_map = nodes.select("key", "_canon")
    nodes = nodes.filter(pl.col("_row") == pl.col("_canon"))
    pos = pl.DataFrame(
        {"_canon": nodes["_canon"], "_pos": range(nodes.height)},
        schema={"_canon": pl.Int64, "_pos": pl.Int32},
    )
    key_map = key_map.join(pos, on="_canon", how="inner").select("key", "_pos")

    # Relations.
    edges = edges.select(_EDGE_REQUIRED).with_columns(
        pl.col("relation").cast(pl.String), pl.col("display_relation").cast(pl.String).fill_null("")
    )
    if unknown_relations != "keep":
        unknown = (
            edges.filter(~pl.col("relation").is_in(list(KNOWN_RELATIONS)))["relation"].unique().to_list()
        )
        if unknown and unknown_relations == "error":
            raise UserInputError(
                f"unknown relations {sorted(unknown)[:10]}; expected PrimeKG's relations or "
                f"{sorted(KNOWN_RELATIONS - set())[:5]}...; pass unknown_relations='keep' or 'skip'"
            )
        before = edges.height
        edges = edges.filter(pl.col("relation").is_in(list(KNOWN_RELATIONS)))
        report["edges_unknown_relation"] = before - edges.height

    # Endpoints -> node positions; dangling ends are dropped.
    before = edges.height
    key_dtype = key_map["key"].dtype
    edges = (
        edges.with_columns(pl.col("head").cast(key_dtype), pl.col("tail").cast(key_dtype))
        .join(key_map.rename({"key": "head", "_pos": "src"}), on="head", how="inner")
        .join(key_map.rename({"key": "tail", "_pos": "dst"}), on="tail", how="inner")
    )
    report["edges_dangling"] = before - edges.height
    before = edges.height
    edges = edges.unique(
        subset=["src", "dst", "relation", "display_relation"], keep="first", maintain_order=True
    )
    report["edges_duplicate"] = before - edges.height

    rels = (
        edges.select("relation", "display_relation")
        .unique(maintain_order=True)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int16).alias("rel"))
    )
    edges = edges.join(rels, on=["relation", "display_relation"], how="left", maintain_order="left")
    for what, count in report.items():
        if count:  # exact duplicate edges are merged without loss; anything else dropped data
            level = logging.INFO if what == "edges_duplicate" else logging.WARNING
            logger.log(level, "%s: skipped/merged %d (%s)", name, count, what.replace("_", " "))
    graph = KnowledgeGraph(
        nodes.select("id", "type", "name", "source", "synonyms", "definition", "description"),
        edges["src"].to_numpy(),
        edges["dst"].to_numpy(),
        edges["rel"].to_numpy(),
        list(zip(rels["relation"].to_list(), rels["display_relation"].to_list(), strict=True)),
        name=name,
    )
    graph.build_report = report
    return graph
