"""Read PrimeKG (`kg.csv` + `disease_features` + `drug_features`) into a `KnowledgeGraph`.

`graph_from_primekg_frame` is the one path from PrimeKG's twelve columns to a graph; the starter
KG is written in the same columns and goes through it too. PrimeKG's `x_id` values are not unique
across sources (a gene's NCBI number can equal a MONDO number), so PrimeKG node ids are
"<source>:<id>" (e.g. "MONDO:13924", "DrugBank:DB00001"); the starter KG keeps its ids as they are.
The full 8.1M-row file loads in well under a minute with polars (see benchmarks/kg_load.py).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

import polars as pl

from foundation.errors import UserInputError
from kg.build import UnknownRelations, build_graph
from kg.graph import KnowledgeGraph
from kg.schema import PRIMEKG_COLUMNS

__all__ = [
    "read_primekg",
    "graph_from_primekg_frame",
    "to_primekg_frame",
    "read_disease_features",
    "read_drug_features",
]

logger = logging.getLogger(__name__)

IdStyle = Literal["source_prefixed", "as_is"]
_SIDE_COLUMNS = ("index", "id", "type", "name", "source")


def _check_columns(columns: list[str], where: str) -> None:
    missing = [c for c in PRIMEKG_COLUMNS if c not in columns]
    if missing:
        raise UserInputError(
            f"{where} lacks PrimeKG columns {missing} (found {columns}); expected {list(PRIMEKG_COLUMNS)}. "
            "Is this PrimeKG's kg.csv (not nodes.csv / edges.csv)?"
        )


def graph_from_primekg_frame(
    frame: pl.DataFrame | pl.LazyFrame,
    features: pl.DataFrame | None = None,
    id_style: IdStyle = "source_prefixed",
    name: str = "primekg",
    unknown_relations: UnknownRelations = "skip",
) -> KnowledgeGraph:
    """Build a graph from rows in PrimeKG's columns.

    Args:
        frame: rows with `kg.schema.PRIMEKG_COLUMNS`; x_index / y_index identify nodes.
        features: optional per-node text keyed by `key` (= x_index) with any of the columns
            synonyms (list of str), definition, description.
        id_style: "source_prefixed" makes ids "<x_source>:<x_id>"; "as_is" keeps x_id.
    """
    lf = frame.lazy()
    _check_columns(lf.collect_schema().names(), "the PrimeKG table")
    if id_style not in ("source_prefixed", "as_is"):
        raise UserInputError(f"id_style={id_style!r}; expected 'source_prefixed' or 'as_is'")

    def side(p: str) -> pl.LazyFrame:
        cols = [pl.col(f"{p}_{c}").alias(c) for c in _SIDE_COLUMNS]
        return (
            lf.select(cols)
            .with_columns(pl.col("index").cast(pl.Int64), pl.col("id").cast(pl.String))
            .unique()
        )

    nodes = pl.concat([side("x"), side("y")]).unique().collect()
    conflicts = int(nodes["index"].is_duplicated().sum())
    if conflicts:
        logger.warning(
            "%s: %d node rows give one x_index different ids/names; keeping the first", name, conflicts
        )
    nodes = nodes.sort("index").unique(subset="index", keep="first", maintain_order=True)
    node_id = pl.col("id")
    if id_style == "source_prefixed":
        node_id = pl.col("source").cast(pl.String) + pl.lit(":") + pl.col("id")
    nodes = nodes.select(pl.col("index").alias("key"), node_id.alias("id"), "type", "name", "source")
    if features is not None:
        if "key" not in features.columns:
            raise UserInputError(f"features table lacks column 'key' (found {features.columns})")
        nodes = nodes.join(
            features.unique(subset="key", keep="first"), on="key", how="left", maintain_order="left"
        )
    edges = lf.select(
        pl.col("x_index").cast(pl.Int64).alias("head"),
        pl.col("y_index").cast(pl.Int64).alias("tail"),
        "relation",
        "display_relation",
    ).collect()
    graph = build_graph(nodes, edges, name=name, unknown_relations=unknown_relations)
    graph.build_report["node_index_conflicts"] = conflicts
    return graph


def _read_tsv(path: str | os.PathLike, required: tuple[str, ...], what: str) -> pl.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise UserInputError(f"{what} file {p} not found; pass the path of PrimeKG's {what} file")
    with p.open(encoding="utf-8") as fh:
        header = fh.readline()
    sep = "\t" if "\t" in header else ","
    if sep == ",":
        logger.info("%s has no tab in its header; reading it as comma-separated", p)
    df = pl.read_csv(p, separator=sep, infer_schema=False, quote_char='"', null_values=["", "nan", "NaN"])
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise UserInputError(
            f"{p} lacks columns {missing} (found {df.columns[:12]}...); is it PrimeKG's {what}?"
        )
    index = df["node_index"].cast(pl.Int64, strict=False)
    bad = df["node_index"].filter(index.is_null() & df["node_index"].is_not_null())
    if len(bad):
        raise UserInputError(
            f"{p}: {len(bad)} rows have a node_index that is not an integer (e.g. {bad.head(3).to_list()}); "
            f"node_index must be kg.csv's x_index. Is it PrimeKG's {what}?"
        )
    empty = int(index.is_null().sum())
    if empty:
        logger.warning("%s: skipped %d rows without a node_index", p, empty)
    return df.with_columns(index).filter(pl.col("node_index").is_not_null())


def _blank_to_null(df: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Add absent `columns` as nulls and read text that is empty after stripping as null."""
    for col in columns:
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    return df.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c) for c in columns
    )


def read_disease_features(path: str | os.PathLike) -> pl.DataFrame:
    """disease_features -> (key, definition, description), the parts of EMERGE's disease document.

    EMERGE (yhzhu99/EMERGE, rag/retrieve.py `load_info`) writes a disease's document as
    "[disease name]{mondo_name} [definition]{mondo_definition}. {orphanet_definition}
    [description]{umls_description}" (one line), absent fields empty, and only for diseases with a
    mondo_definition. So definition = "{mondo_definition}. {orphanet_definition}" verbatim (empty
    orphanet_definition -> a trailing ". "), description = umls_description. Beyond EMERGE, a disease
    without a mondo_definition keeps its orphanet_definition as definition, and one with only a
    umls_description still gets a document. Of several rows of one node_index, the first with a
    mondo_definition is used (else the first with any of the three fields).
    """
    text = ("mondo_definition", "orphanet_definition", "umls_description")
    df = _read_tsv(path, ("node_index", "mondo_definition", "umls_description"), "disease_features")
    df = _blank_to_null(df, text)
    mondo, orpha = pl.col("mondo_definition"), pl.col("orphanet_definition")
    return (
        df.with_row_index("_row")
        .sort(
            mondo.is_null(),
            pl.all_horizontal(pl.col(c).is_null() for c in text),
            "_row",
        )
        .unique(subset="node_index", keep="first", maintain_order=True)
        .sort("_row")
        .select(
            pl.col("node_index").alias("key"),
            pl.when(mondo.is_not_null())
            .then(pl.concat_str(mondo, pl.lit(". "), orpha.fill_null("")))
            .otherwise(orpha)
            .alias("definition"),
            pl.col("umls_description").alias("description"),
        )
    )


def read_drug_features(path: str | os.PathLike) -> pl.DataFrame:
    """drug_features -> (key, definition, description): description = DrugBank's description (the first
    non-empty one of a node_index); drugs carry no definition."""
    df = _blank_to_null(_read_tsv(path, ("node_index", "description"), "drug_features"), ("description",))
    return (
        df.group_by("node_index", maintain_order=True)
        .agg(pl.col("description").drop_nulls().first())
        .select(
            pl.col("node_index").alias("key"),
            pl.lit(None, dtype=pl.String).alias("definition"),
            "description",
        )
    )


def to_primekg_frame(graph: KnowledgeGraph) -> pl.DataFrame:
    """The graph's edges in kg.csv's twelve columns (x_index = node row; ids as they are).

    Names, types and sources survive; synonyms and definitions do not (PrimeKG keeps those in
    its feature files). Read it back with `read_primekg(path, id_style="as_is")`."""
    n = graph.nodes.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    e = graph.edge_frame()
    sides = {
        p: n.select(
            pl.col("id").alias(f"{p}_id"),
            pl.col("index").alias(f"{p}_index"),
            pl.col("type").alias(f"{p}_type"),
            pl.col("name").alias(f"{p}_name"),
            pl.col("source").alias(f"{p}_source"),
        )
        for p in ("x", "y")
    }
    return (
        e.join(sides["x"], left_on="head", right_on="x_id", how="left", maintain_order="left")
        .rename({"head": "x_id"})
        .join(sides["y"], left_on="tail", right_on="y_id", how="left", maintain_order="left")
        .rename({"tail": "y_id"})
        .select(PRIMEKG_COLUMNS)
    )


def read_primekg(
    kg_csv: str | os.PathLike,
    disease_features: str | os.PathLike | None = None,
    drug_features: str | os.PathLike | None = None,
    name: str = "primekg",
    unknown_relations: UnknownRelations = "skip",
    id_style: IdStyle = "source_prefixed",
) -> KnowledgeGraph:
    """Read PrimeKG's kg.csv (and optionally its feature files) with polars.

    Node ids are "<x_source>:<x_id>" (id_style="as_is" keeps x_id, for files whose ids are
    already unique, such as `to_primekg_frame` output). Disease and drug nodes get
    definition/description from the feature files (joined on node_index = x_index).
    """
    p = Path(kg_csv)
    if not p.is_file():
        raise UserInputError(
            f"PrimeKG file {p} not found; download kg.csv from Harvard Dataverse "
            "(doi:10.7910/DVN/IXA7BM) and pass its path"
        )
    with p.open(encoding="utf-8") as fh:
        header = fh.readline().rstrip("\r\n").split(",")
    _check_columns(header, str(p))
    lf = pl.scan_csv(
        p,
        schema_overrides={"x_index": pl.Int64, "y_index": pl.Int64, "x_id": pl.String, "y_id": pl.String},
        infer_schema_length=0,
    )
    features = None
    parts = [
        f(path)
        for f, path in ((read_disease_features, disease_features), (read_drug_features, drug_features))
        if path
    ]
    if parts:
        features = pl.concat(parts).unique(subset="key", keep="first")
    logger.info("reading %s", p)
    return graph_from_primekg_frame(
        lf, features, id_style=id_style, name=name, unknown_relations=unknown_relations
    )
