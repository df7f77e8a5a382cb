"""One way to open a knowledge graph, whatever its source.

    load_graph("starter")                                # the bundled starter KG (built once, cached)
    load_graph("folder", "my_kg/")                       # a folder written by KnowledgeGraph.save
    load_graph("primekg", "kg.csv", features="dl/")      # PrimeKG's kg.csv (+ its feature files' folder)
    load_graph("bios", "bios/")                          # the BIOS folder DR.EHR uses
    open_graph_spec("starter" | "my_kg/")               # the CLI's --kg value

Every command and stage that needs a graph goes through here, so they accept the same sources and
fail with the same messages.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from foundation.errors import UserInputError
from kg.graph import KnowledgeGraph

__all__ = ["KGSource", "KG_SOURCES", "load_graph", "open_graph_spec", "primekg_feature_files"]

logger = logging.getLogger(__name__)

KGSource = Literal["starter", "folder", "primekg", "bios"]
KG_SOURCES: tuple[str, ...] = ("starter", "folder", "primekg", "bios")
IMPORT_HINT = (
    "`emerge kg build-starter --out DIR`, `emerge kg import primekg --kg-csv kg.csv --out DIR` or "
    "`emerge kg import bios --dir BIOS --out DIR`"
)
# PrimeKG's feature files: ".tab" as Harvard Dataverse serves them, ".csv" as PrimeKG's own scripts write them
_FEATURE_FILES = {"disease": "disease_features", "drug": "drug_features"}


def primekg_feature_files(features: str | os.PathLike) -> tuple[Path | None, Path | None]:
    """(disease_features, drug_features) in the folder `features` (.tab, else .csv); None for one
    that is absent. A folder holding neither is an error."""
    folder = Path(features)
    if not folder.is_dir():
        raise UserInputError(
            f"PrimeKG features folder {folder} {'is a file' if folder.exists() else 'does not exist'}; "
            "pass the folder holding disease_features.tab and drug_features.tab (Harvard Dataverse, "
            "doi:10.7910/DVN/IXA7BM)"
        )
    found = []
    for stem in _FEATURE_FILES.values():
        candidates = [folder / f"{stem}.tab", folder / f"{stem}.csv"]
        found.append(next((c for c in candidates if c.is_file()), None))
    if not any(found):
        names = sorted(p.name for p in folder.iterdir())[:10]
        raise UserInputError(
            f"PrimeKG features folder {folder} holds neither disease_features.tab nor drug_features.tab "
            f"(nor .csv copies; found {names}); pass the folder you downloaded them into"
        )
    for what, path in zip(_FEATURE_FILES, found, strict=True):
        if path is None:
            logger.warning("%s has no %s_features.tab/.csv: %s nodes get no text", folder, what, what)
    return found[0], found[1]


def load_graph(
    source: KGSource = "starter",
    path: str | os.PathLike | None = None,
    features: str | os.PathLike | None = None,
) -> KnowledgeGraph:
    """The graph of `source`; `path` is the folder or file it is read from (not for "starter").

    features: for PrimeKG, the folder holding disease_features.tab / drug_features.tab (or the .csv
    copies PrimeKG's scripts write); without it PrimeKG's nodes carry no definitions.
    """
    if source not in KG_SOURCES:
        raise UserInputError(f"unknown KG source {source!r}; choose one of {list(KG_SOURCES)}")
    if features is not None and source != "primekg":
        raise UserInputError(
            f"a features folder ({features}) was given for KG source {source!r}; only PrimeKG reads one. "
            "Leave it out, or set the source to primekg"
        )
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
        disease, drug = primekg_feature_files(features) if features is not None else (None, None)
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
        hint = ""
        if path.is_file() and path.suffix.lower() in (".csv", ".tab"):
            hint = (
                f"; for PrimeKG's kg.csv, import it with emerge kg import primekg --kg-csv {spec} --out DIR"
            )
        elif path.is_dir() and (path / "CUI2term.json").is_file():
            hint = (
                f"; it looks like a BIOS folder: import it with emerge kg import bios --dir {spec} --out DIR"
            )
        raise UserInputError(
            f"--kg {spec} is neither 'starter' nor a saved knowledge graph folder (one holding config.json, "
            f"written by {IMPORT_HINT} or `KnowledgeGraph.save`){hint}"
        )
    return load_graph("folder", path)
