from __future__ import annotations

import pytest

from foundation.errors import UserInputError
from kg.starter.build import StarterSettings, normalize_concept_name, starter_cache_dir
from kg.starter.hpo import clean_obo_definition
from kg.starter.icd import icd9_dotted
from kg.starter.synonyms import read_clinical_synonyms


def test_helpers():
    assert normalize_concept_name("Acute kidney failure, unspecified") == "acute kidney failure"
    assert normalize_concept_name("Essential (primary) hypertension") == "essential hypertension"
    assert clean_obo_definition('"Low blood potassium." [https://orcid.org/0000]') == "Low blood potassium."
    assert clean_obo_definition(None) is None
    assert [icd9_dotted(c) for c in ("4019", "E8000", "V1582", "042")] == ["401.9", "E800.0", "V15.82", "042"]


def test_curated_table_covers_the_brief_terms():
    table = dict(read_clinical_synonyms())
    for term in ("HTN", "CHF", "AKI", "CKD", "COPD", "PNA", "afib", "DM2", "GIB", "CVA", "MI",
                 "high blood pressure", "kidney failure", "low potassium", "high potassium", "low blood pressure",
                 "fast heart rate"):
        assert table[term], term
    assert table["low potassium"] == ("HP:0002900", "E87.6")
    with pytest.raises(UserInputError, match="line 1"):
        read_clinical_synonyms("HTN only-one-column-no-tab")


def test_cache_dir_depends_on_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("EMERGE_CACHE", str(tmp_path))
    a = starter_cache_dir()
    assert a.parent == tmp_path / "starter_kg"
    assert starter_cache_dir(settings=StarterSettings(include_icd9=False)) != a
    assert starter_cache_dir(tmp_path / "x").parent == tmp_path / "x"


@pytest.mark.slow
def test_real_starter_kg_has_icu_conditions_and_links(tmp_path_factory):
    from emerge.cli.kg import encoder_fn
    from kg.linking import EntityLinker
    from kg.retrieval import gather_knowledge
    from kg.starter import load_starter_kg

    g = load_starter_kg()  # ~1 min on first use, then cached
    for name, node_id in [("sepsis", "HP:0100806"), ("acute kidney injury", "HP:0001919"), ("heart failure", "I50.9"),
                          ("hypertension", "HP:0000822"), ("copd", "J44.9"), ("pneumonia", "J18.9"),
                          ("hyperkalemia", "E87.5")]:
        assert node_id in g.find(name), name
    for node_id in ("HP:0100806", "HP:0001919", "HP:0000822", "HP:0002153", "I10", "N17.9", "E87.5"):
        assert g.node(node_id)["definition"], node_id
    assert "N17" in g.hypernyms("N17.9") and g.hypernyms("HP:0002900") == ["HP:0011042"]
    assert g.hypernyms("B10") == ["ICD10CM:CHAPTER_1"]  # block + category sharing a code: one node, no self-loop
    assert "I10" in g.neighbors("ICD9CM:401.9", relation="maps_to")
    linker = EntityLinker(g, encoder_fn(), threshold=0.7, types="disease,phenotype")
    recs = {r["mention"]: r for r in linker.link(["high blood pressure", "HTN", "low potassium", "kidney failure"])}
    assert recs["high blood pressure"]["node_id"] in ("HP:0000822", "I10")
    assert recs["HTN"]["node_id"] in ("HP:0000822", "I10")
    assert recs["low potassium"]["node_id"] in ("HP:0002900", "E87.6")
    assert recs["kidney failure"]["node_id"] in ("HP:0000083", "N19")
    know = gather_knowledge(g, [r["node_id"] for r in recs.values()])
    assert {k.node_id for k in know} == {"I10", "E87.6", "N19"} and all(k.triples for k in know)
    # dense step with the real MiniLM on a small piece of the graph
    sub = g.subgraph(["E87.5", "E87.6", "I10", "N19"], k=1)
    dense = EntityLinker(sub, encoder_fn(), threshold=0.6).link(["elevated serum potassium"])[0]
    assert dense["node_id"] in ("E87.5", "HP:0002153") and dense["score"] < 1.0
