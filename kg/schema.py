"""PrimeKG's schema: the columns of `kg.csv`, the node types and the relation names.

Every graph in the project (PrimeKG, BIOS, the starter KG) is expressed in these terms, so one
`KnowledgeGraph` and one reading path serve them all. PrimeKG stores each of its 4,050,249 edges
twice (x->y and y->x), which is why its hierarchies ("parent-child") have no direction; the starter
KG adds a directed `is_a` relation (child -> parent) so that `hypernyms()` is well defined.
"""

from __future__ import annotations

from foundation.errors import UserInputError

__all__ = [
    "PRIMEKG_COLUMNS",
    "NODE_COLUMNS",
    "EDGE_COLUMNS",
    "NODE_TYPES",
    "TYPE_ALIASES",
    "PRIMEKG_RELATIONS",
    "EXTRA_RELATIONS",
    "KNOWN_RELATIONS",
    "HYPERNYM_RELATIONS",
    "DISEASE_FEATURE_COLUMNS",
    "DRUG_FEATURE_COLUMNS",
    "normalize_types",
]

# kg.csv, exactly as PrimeKG ships it (Harvard Dataverse doi:10.7910/DVN/IXA7BM).
PRIMEKG_COLUMNS: tuple[str, ...] = (
    "relation",
    "display_relation",
    "x_index",
    "x_id",
    "x_type",
    "x_name",
    "x_source",
    "y_index",
    "y_id",
    "y_type",
    "y_name",
    "y_source",
)

# Our node table: one row per node; `synonyms` is a list of strings.
NODE_COLUMNS: tuple[str, ...] = ("id", "type", "name", "source", "synonyms", "definition", "description")
# Our edge table: row positions of the two nodes in the node table, and the relation.
EDGE_COLUMNS: tuple[str, ...] = ("src", "dst", "relation", "display_relation")

# PrimeKG's ten node types.
NODE_TYPES: tuple[str, ...] = (
    "gene/protein",
    "drug",
    "effect/phenotype",
    "disease",
    "biological_process",
    "molecular_function",
    "cellular_component",
    "exposure",
    "pathway",
    "anatomy",
)
# Short names users type on the command line.
TYPE_ALIASES: dict[str, str] = {
    "phenotype": "effect/phenotype",
    "effect": "effect/phenotype",
    "gene": "gene/protein",
    "protein": "gene/protein",
}

# PrimeKG's 30 relations (the `relation` column).
PRIMEKG_RELATIONS: frozenset[str] = frozenset(
    {
        "protein_protein",
        "drug_protein",
        "contraindication",
        "indication",
        "off-label use",
        "drug_drug",
        "phenotype_protein",
        "phenotype_phenotype",
        "disease_phenotype_negative",
        "disease_phenotype_positive",
        "disease_protein",
        "disease_disease",
        "drug_effect",
        "bioprocess_bioprocess",
        "molfunc_molfunc",
        "cellcomp_cellcomp",
        "molfunc_protein",
        "cellcomp_protein",
        "bioprocess_protein",
        "exposure_protein",
        "exposure_disease",
        "exposure_exposure",
        "exposure_bioprocess",
        "exposure_molfunc",
        "exposure_cellcomp",
        "pathway_pathway",
        "pathway_protein",
        "anatomy_anatomy",
        "anatomy_protein_present",
        "anatomy_protein_absent",
    }
)
# Relations added by the starter KG and the BIOS reader (directed where it matters).
EXTRA_RELATIONS: frozenset[str] = frozenset(
    {
        "is_a",  # child -> parent (hypernym), one direction only
        "maps_to",  # ICD-9-CM -> ICD-10-CM (GEM) and back
        "same_as",  # the same concept in two sources (both directions)
        "related_to",  # BIOS relations.json (untyped)
    }
)
KNOWN_RELATIONS: frozenset[str] = PRIMEKG_RELATIONS | EXTRA_RELATIONS
HYPERNYM_RELATIONS: frozenset[str] = frozenset({"is_a"})

# disease_features / drug_features, as documented by PrimeKG (tab-separated on Dataverse).
DISEASE_FEATURE_COLUMNS: tuple[str, ...] = (
    "node_index",
    "mondo_id",
    "mondo_name",
    "group_id_bert",
    "group_name_bert",
    "mondo_definition",
    "umls_description",
    "orphanet_definition",
    "orphanet_prevalence",
    "orphanet_epidemiology",
    "orphanet_clinical_description",
    "orphanet_management_and_treatment",
    "mayo_symptoms",
    "mayo_causes",
    "mayo_risk_factors",
    "mayo_complications",
    "mayo_prevention",
    "mayo_see_doc",
)
DRUG_FEATURE_COLUMNS: tuple[str, ...] = (
    "node_index",
    "description",
    "half_life",
    "indication",
    "mechanism_of_action",
    "protein_binding",
    "pharmacodynamics",
    "state",
    "atc_1",
    "atc_2",
    "atc_3",
    "atc_4",
    "category",
    "group",
    "pathway",
    "molecular_weight",
    "tpsa",
    "clogp",
)


def normalize_types(
    types: str | list[str] | tuple[str, ...] | None, known: set[str] | None = None
) -> tuple[str, ...] | None:
    """Turn "disease,phenotype" or ["disease", "phenotype"] into PrimeKG type names, checked.

    `known` is the set of types present in a graph; PrimeKG's ten types are always accepted.
    Returns None for "no filter".
    """
    if types is None:
        return None
    items = [t.strip() for t in (types.split(",") if isinstance(types, str) else types)]
    items = [t for t in items if t]
    if not items:
        return None
    valid = set(NODE_TYPES) | (known or set())
    out = []
    for t in items:
        t = TYPE_ALIASES.get(t.lower(), t)
        if t not in valid:
            raise UserInputError(
                f"unknown node type {t!r}; expected one of {sorted(valid)} "
                f"(aliases: {sorted(TYPE_ALIASES)}). Fix the --types / types= value."
            )
        out.append(t)
    return tuple(dict.fromkeys(out))
