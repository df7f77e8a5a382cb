"""Read a BIOS-style knowledge base, laid out as DR.EHR's stage-I scripts use it.

DR.EHR (zhao-zy15/DR.EHR, data/stage_1/) reads from one folder:
  - bios.txt: tab-separated, first column CUI, second column a surface form (optional header "cui");
  - CUI2term.json {cui: [term, ...]}, term2CUI.json {term: cui}, CUI2pt.json {cui: preferred term};
  - is_a.json {cui: [parent cui, ...]}, relations.json {cui: [related cui, ...]} (untyped).
Concepts become nodes of type "concept" (BIOS's files carry no semantic type) named by their
preferred term, with every other term as a synonym; is_a gives directed `is_a` edges, relations
gives `related_to` edges.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import polars as pl

from foundation.errors import UserInputError
from kg.build import build_graph
from kg.graph import KnowledgeGraph

__all__ = ["read_bios", "BIOS_JSON_FILES"]

logger = logging.getLogger(__name__)

BIOS_JSON_FILES = ("CUI2term", "term2CUI", "CUI2pt", "is_a", "relations")


def _load_json(path: Path, expect: type) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserInputError(f"{path} is not valid JSON ({exc}); regenerate it from BIOS") from exc
    if not isinstance(data, dict) or not all(isinstance(v, expect) for v in data.values()):
        raise UserInputError(f"{path} should map each key to a {expect.__name__}; check the BIOS export")
    return data


def _read_terms_table(path: Path) -> dict[str, list[str]]:
    terms: dict[str, list[str]] = {}
    skipped = 0
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            parts = line.rstrip("\n").split("\t")
            if line_no == 1 and parts[0].lower() == "cui":
                continue
            if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
                skipped += 1
                continue
            terms.setdefault(parts[0].strip(), []).append(parts[1].strip())
    if skipped:
        logger.warning("%s: skipped %d lines without a CUI<TAB>term pair", path, skipped)
    return terms


def read_bios(directory: str | os.PathLike, name: str = "bios") -> KnowledgeGraph:
    """Read the BIOS folder DR.EHR uses (see module docstring) into a `KnowledgeGraph`."""
    d = Path(directory)
    if not d.is_dir():
        raise UserInputError(f"BIOS folder {d} not found; pass the folder holding CUI2term.json etc.")
    missing = [f"{n}.json" for n in BIOS_JSON_FILES if not (d / f"{n}.json").is_file()]
    if missing:
        raise UserInputError(
            f"{d} lacks {missing}; a BIOS folder needs {[f'{n}.json' for n in BIOS_JSON_FILES]} "
            "(and optionally bios.txt)"
        )
    cui2term = _load_json(d / "CUI2term.json", list)
    term2cui = _load_json(d / "term2CUI.json", str)
    cui2pt = _load_json(d / "CUI2pt.json", str)
    is_a = _load_json(d / "is_a.json", list)
    relations = _load_json(d / "relations.json", list)

    terms: dict[str, list[str]] = {cui: list(ts) for cui, ts in cui2term.items()}
    for term, cui in term2cui.items():
        terms.setdefault(cui, []).append(term)
    if (d / "bios.txt").is_file():
        for cui, ts in _read_terms_table(d / "bios.txt").items():
            terms.setdefault(cui, []).extend(ts)

    ids, names, synonyms = [], [], []
    for cui, ts in terms.items():
        ts = [t.strip() for t in ts if t and t.strip()]
        preferred = (cui2pt.get(cui) or (ts[0] if ts else "")).strip()
        seen = {preferred.lower()}
        syns = [t for t in ts if not (t.lower() in seen or seen.add(t.lower()))]
        ids.append(cui)
        names.append(preferred)
        synonyms.append(syns)
    nodes = pl.DataFrame(
        {
            "key": ids,
            "id": ids,
            "type": ["concept"] * len(ids),
            "name": names,
            "source": ["BIOS"] * len(ids),
            "synonyms": synonyms,
        },
        schema_overrides={"synonyms": pl.List(pl.String)},
    )
    heads, tails, rels, disp = [], [], [], []
    for mapping, rel, label in ((is_a, "is_a", "is a"), (relations, "related_to", "related to")):
        for cui, others in mapping.items():
            for other in others:
                if other != cui:
                    heads.append(cui)
                    tails.append(str(other))
                    rels.append(rel)
                    disp.append(label)
    edges = pl.DataFrame(
        {"head": heads, "tail": tails, "relation": rels, "display_relation": disp},
        schema={"head": pl.String, "tail": pl.String, "relation": pl.String, "display_relation": pl.String},
    )
    return build_graph(nodes, edges, name=name)
