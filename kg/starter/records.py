"""Plain records the starter sources produce before they become PrimeKG-shaped rows."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["NodeRecord", "EdgeRecord"]


class NodeRecord(NamedTuple):
    id: str
    type: str
    name: str
    source: str
    synonyms: tuple[str, ...]
    definition: str | None
    description: str | None


class EdgeRecord(NamedTuple):
    head: str
    tail: str
    relation: str
    display_relation: str
