"""One way to open a knowledge graph, whatever its source.

    load_graph("starter")                                # the bundled starter KG (built once, cached)
    load_graph("folder", "my_kg/")                       # a folder written by KnowledgeGraph.save
    load_graph("primekg", "kg.csv")                      # PrimeKG's kg.csv (+ its feature files)
    load_graph("bios", "bios/")                          # the BIOS folder DR.EHR uses
    open_graph_spec("starter" | "my_kg/")               # the CLI's --kg value

Every command and stage that needs a graph goes through here, so they accept the same sources and
fail with the same messages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from foundation.errors import UserInputError
from kg.graph import KnowledgeGraph

__all__ = ["KGSource", "KG_SOURCES", "load_graph", "open_graph_spec"]

KGSource = Literal["starter", "folder", "primekg", "bios"]
KG_SOURCES: tuple[str, ...] = ("starter", "folder", "primekg", "bios")


def load_graph(
    source: KGSource = "starter",
    path: str | os.PathLike | None = None,
    features: str | os.PathLike | None = None,
) -> KnowledgeGraph:
    """The graph of `source`; `path` is the folder or file it is read from (not for "starter").

    features: for PrimeKG, the folder holding disease_features.tab / drug_features.tab (optional).
    """
    if source not in KG_SOURCES:
        raise UserInputError(f"unknown KG source {source!r}; choose one of {list(KG_SOURCES)}")
    if source == "starter":
        from kg.starter import load_starter_kg

        return load_starter_kg()
    if path is None:
        raise UserInputError(
            f"KG source {source!r} needs a path (the "
            f"{'kg.csv file' if source == 'primekg' else 'folder'} to read)"
        )
    path = Path(path)
    if not path.exists():
        raise UserInputError(
            f"KG path {path} does not exist; point it at the {source} "
            f"{'kg.csv file' if source == 'primekg' else 'folder'}"
        )
    if source == "primekg":
        from kg.readers.primekg import read_primekg

        if path.is_dir():
            raise UserInputError(f"KG path {path} is a folder; PrimeKG is read from its kg.csv file")
        disease = drug = None
        if features is not None:
            disease, drug = Path(features) / "disease_features.tab", Path(features) / "drug_features.tab"
            disease, drug = (p if p.is_file() else None for p in (disease, drug))
        return read_primekg(path, disease, drug)
    if not path.is_dir():
        raise UserInputError(f"KG path {path} is a file; the {source} source reads a folder")
    if source == "bios":
        from kg.readers.bios import read_bios

        return read_bios(path)
    return KnowledgeGraph.load(path)


def open_graph_spec(spec: str | os.PathLike) -> KnowledgeGraph:
    """A `--kg` value: "starter" or a saved KG folder."""
    if str(spec) == "starter":
        return load_graph("starter")
    path = Path(spec)
    if not path.is_dir() or not (path / "config.json").is_file():
        raise UserInputError(
            f"--kg {spec} is neither 'starter' nor a saved knowledge graph folder (one holding config.json, "
            f"written by `emerge kg build-starter --out DIR` or `KnowledgeGraph.save`)"
        )
    return load_graph("folder", path)
