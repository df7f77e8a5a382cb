"""Biomedical knowledge graphs: schema, readers (PrimeKG, BIOS), the bundled starter KG, term
matching, entity linking and knowledge retrieval for a patient. Imports nothing from drehr/emerge.

Heavy submodules (faiss, pyhpo) load only when the names that need them are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from foundation.errors import ArtifactError, UserInputError

if TYPE_CHECKING:
    from kg.graph import KnowledgeGraph
    from kg.linking import EntityLinker
    from kg.matching import TermMatch, TermMatcher
    from kg.readers import read_bios, read_primekg
    from kg.retrieval import NodeKnowledge, gather_knowledge
    from kg.starter import StarterSettings, build_starter_kg, load_starter_kg

__all__ = [
    "ArtifactError",
    "UserInputError",
    "KnowledgeGraph",
    "TermMatcher",
    "TermMatch",
    "EntityLinker",
    "gather_knowledge",
    "NodeKnowledge",
    "read_primekg",
    "read_bios",
    "load_starter_kg",
    "build_starter_kg",
    "StarterSettings",
]

_LAZY = {
    "KnowledgeGraph": "kg.graph",
    "TermMatcher": "kg.matching",
    "TermMatch": "kg.matching",
    "EntityLinker": "kg.linking",
    "gather_knowledge": "kg.retrieval",
    "NodeKnowledge": "kg.retrieval",
    "read_primekg": "kg.readers",
    "read_bios": "kg.readers",
    "load_starter_kg": "kg.starter",
    "build_starter_kg": "kg.starter",
    "StarterSettings": "kg.starter",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kg' has no attribute {name!r}")
