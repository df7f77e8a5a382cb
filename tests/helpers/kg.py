"""Tiny knowledge graphs for tests, built in memory in milliseconds with `kg.build.build_graph`.

Each shape is named for what its tests look for; `make_kg` builds any other from a few `Node`s.

- `tiny_kg()`: five nodes of every kind the kg package handles (an HPO phenotype and the ICD code it is
  the same as, two more diseases, a drug), with definitions, descriptions and an edge of each relation
  the retrieval, linking and CLI tests walk.
- `notes_kg()`: the three diseases the retriever-data note fixtures name (essential hypertension,
  hypokalemia, chronic kidney disease), with a hypernym and an association; diseases only.
- `ward_kg()`: conditions the synthetic cohort's notes and vital signs mention (sepsis, heart failure,
  tachycardia, ...), with definitions and phenotypes, for the RAG stage, the experiment runner and the
  CLI's bad-input table.
- `stage1_kg()`: the five diseases the stage-I retriever benchmark test trains on (diseases only).
- `qualifier_kg()`: `ward_kg()` plus a piece of HPO's hierarchy as the starter KG holds it: the root
  "All", "Phenotypic abnormality" above the ward's phenotypes, and qualifier terms under "Clinical
  modifier" ("Acute", "Chronic", "Right", "Left", "Position") and "Mode of inheritance", with is_a edges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from kg.build import build_graph
from kg.graph import KnowledgeGraph

__all__ = ["Node", "make_kg", "notes_kg", "qualifier_kg", "stage1_kg", "tiny_kg", "ward_kg"]

EDGE_COLUMNS = ["head", "tail", "relation", "display_relation"]


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    type: str = "disease"
    source: str = "ICD10CM"
    synonyms: tuple[str, ...] = ()
    definition: str | None = None
    description: str | None = None


def make_kg(
    nodes: Iterable[Node], edges: Iterable[tuple[str, str, str, str]], name: str = "tiny"
) -> KnowledgeGraph:
    """A graph from `nodes` (each keyed by its id) and (head, tail, relation, display_relation) edges."""
    nodes = list(nodes)
    table = pl.DataFrame(
        {
            "key": [n.id for n in nodes],
            "id": [n.id for n in nodes],
            "type": [n.type for n in nodes],
            "name": [n.name for n in nodes],
            "source": [n.source for n in nodes],
            "synonyms": [list(n.synonyms) for n in nodes],
            "definition": [n.definition for n in nodes],
            "description": [n.description for n in nodes],
        },
        schema_overrides={"synonyms": pl.List(pl.String), "definition": pl.String, "description": pl.String},
    )
    edge_table = pl.DataFrame(list(edges), schema=EDGE_COLUMNS, orient="row")
    return build_graph(table, edge_table, name=name)


def tiny_kg() -> KnowledgeGraph:
    """Five nodes: hypertension (phenotype + ICD disease), hypokalemia, CKD, and a drug."""
    nodes = [
        Node(
            "HP:0000822",
            "Hypertension",
            "effect/phenotype",
            "HPO",
            ("High blood pressure", "HTN"),
            definition="Increased pressure in the systemic arterial system.",
        ),
        Node("I10", "Essential (primary) hypertension", synonyms=("HTN",)),
        Node(
            "E87.6",
            "Hypokalemia",
            synonyms=("low potassium",),
            definition="Low blood potassium.",
            description="Serum potassium below 3.5 mmol/L.",
        ),
        Node("N18.9", "Chronic kidney disease", synonyms=("CKD",)),
        Node("DB00999", "Hydrochlorothiazide", "drug", "DrugBank"),
    ]
    edges = [
        ("I10", "HP:0000822", "same_as", "same as"),
        ("HP:0000822", "I10", "same_as", "same as"),
        ("I10", "N18.9", "disease_disease", "associated with"),
        ("I10", "DB00999", "indication", "treated by"),
        ("I10", "E87.6", "disease_disease", "associated with"),
        ("DB00999", "E87.6", "drug_effect", "side effect"),
        ("E87.6", "N18.9", "is_a", "is a"),
    ]
    return make_kg(nodes, edges, name="tiny")


def notes_kg() -> KnowledgeGraph:
    """Essential hypertension, hypokalemia and CKD; hypokalemia is_a CKD, hypertension associated with CKD."""
    nodes = [
        Node("I10", "Essential hypertension", synonyms=("High blood pressure", "HTN")),
        Node("E87.6", "Hypokalemia", synonyms=("low potassium",)),
        Node("N18.9", "Chronic kidney disease", synonyms=("CKD",)),
    ]
    edges = [("E87.6", "N18.9", "is_a", "is a"), ("I10", "N18.9", "disease_disease", "associated with")]
    return make_kg(nodes, edges, name="tiny")


def ward_kg() -> KnowledgeGraph:
    """Seven ICU conditions (four ICD-10 diseases, three HPO phenotypes) with synonyms, two phenotypes
    of sepsis."""
    nodes, edges = _ward_parts()
    return make_kg(nodes, edges, name="ward")


def _ward_parts() -> tuple[list[Node], list[tuple[str, str, str, str]]]:
    nodes = [
        Node(
            "A41.9",
            "Sepsis",
            synonyms=("septicemia",),
            definition="Life-threatening organ dysfunction caused by a dysregulated host response "
            "to infection.",
        ),
        Node("I10", "Hypertension", synonyms=("HTN", "high blood pressure")),
        Node("I50.9", "Heart failure", synonyms=("CHF", "congestive heart failure")),
        Node("J18.9", "Pneumonia", synonyms=("pneumonia",), definition="Infection of the lung."),
        Node(
            "HP:0001649",
            "Tachycardia",
            "effect/phenotype",
            "HPO",
            ("fast heart rate", "heart rate too high"),
            definition="A heart rate above normal.",
        ),
        Node(
            "HP:0002615",
            "Hypotension",
            "effect/phenotype",
            "HPO",
            ("low blood pressure",),
            definition="Low blood pressure.",
        ),
        Node("HP:0001945", "Fever", "effect/phenotype", "HPO"),
    ]
    edges = [
        ("A41.9", "HP:0002615", "disease_phenotype_positive", "phenotype present"),
        ("A41.9", "HP:0001945", "disease_phenotype_positive", "phenotype present"),
        ("I50.9", "I10", "disease_disease", "associated with"),
    ]
    return nodes, edges


# (id, name, parent): HPO terms with the parent HPO gives them (HP:0031797 "Clinical course" sits between
# "Clinical modifier" and "Acute"/"Chronic", as in HPO).
_HPO_SKELETON = (
    ("HP:0000001", "All", None),
    ("HP:0000118", "Phenotypic abnormality", "HP:0000001"),
    ("HP:0012823", "Clinical modifier", "HP:0000001"),
    ("HP:0031797", "Clinical course", "HP:0012823"),
    ("HP:0011009", "Acute", "HP:0031797"),
    ("HP:0011010", "Chronic", "HP:0031797"),
    ("HP:0012830", "Position", "HP:0012823"),
    ("HP:0012834", "Right", "HP:0012830"),
    ("HP:0012835", "Left", "HP:0012830"),
    ("HP:0000005", "Mode of inheritance", "HP:0000001"),
    ("HP:0000006", "Autosomal dominant inheritance", "HP:0000005"),
)
QUALIFIER_IDS = frozenset(
    {"HP:0000001", "HP:0012823", "HP:0031797", "HP:0011009", "HP:0011010", "HP:0012830", "HP:0012834"}
    | {"HP:0012835", "HP:0000005", "HP:0000006"}
)
"""The nodes of `qualifier_kg()` that `KnowledgeGraph.qualifier_ids` must return."""


def qualifier_kg() -> KnowledgeGraph:
    """`ward_kg()` with HPO's root, "Phenotypic abnormality" above the ward's phenotypes, and qualifier
    terms (`QUALIFIER_IDS`) under "Clinical modifier" and "Mode of inheritance"."""
    nodes, edges = _ward_parts()
    phenotypes = [n.id for n in nodes if n.id.startswith("HP:")]
    nodes += [Node(i, name, "effect/phenotype", "HPO") for i, name, _ in _HPO_SKELETON]
    edges += [(i, parent, "is_a", "is a") for i, _, parent in _HPO_SKELETON if parent]
    edges += [(p, "HP:0000118", "is_a", "is a") for p in phenotypes]
    return make_kg(nodes, edges, name="ward+hpo")


def stage1_kg() -> KnowledgeGraph:
    """Five diseases the stage-I benchmark's synthetic notes write about, with synonyms/abbreviations and one
    hypernym edge. Kept apart from `ward_kg`: its nodes decide which chunks become training examples, and
    that test's tiny BERT takes at most 128 tokens."""
    nodes = [
        Node("D64.9", "Anemia", synonyms=("anaemia", "low hemoglobin")),
        Node("I10", "Hypertension", synonyms=("HTN", "high blood pressure")),
        Node("I50.9", "Heart failure", synonyms=("CHF",)),
        Node("J96.0", "Acute respiratory failure", synonyms=("hypoxemic respiratory failure",)),
        Node("A41.9", "Sepsis", synonyms=("septicemia",)),
    ]
    edges = [("J96.0", "I50.9", "disease_disease", "associated with"), ("A41.9", "J96.0", "is_a", "is a")]
    return make_kg(nodes, edges, name="tiny")
