"""The bundled starter KG: HPO, OMIM/Orphanet, ICD-10-CM and ICD-9-CM in PrimeKG's schema, offline."""

from kg.starter.build import StarterSettings, build_starter_kg, load_starter_kg, starter_cache_dir

__all__ = ["StarterSettings", "build_starter_kg", "load_starter_kg", "starter_cache_dir"]
