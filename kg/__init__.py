"""Biomedical knowledge graphs: schema, readers (PrimeKG, BIOS), the bundled starter KG, term
matching, entity linking and knowledge retrieval for a patient. Imports nothing from drehr/emerge."""

from kg.errors import ArtifactError, UserInputError

__all__ = ["ArtifactError", "UserInputError"]
