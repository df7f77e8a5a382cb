"""Readers that turn published knowledge-graph files into a `KnowledgeGraph`."""

from kg.readers.bios import read_bios
from kg.readers.primekg import graph_from_primekg_frame, read_primekg

__all__ = ["read_primekg", "read_bios", "graph_from_primekg_frame"]
