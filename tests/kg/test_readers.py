from __future__ import annotations

from pathlib import Path

import pytest

from foundation.errors import UserInputError
from kg.readers import read_bios, read_primekg

FIXTURES = Path(__file__).parent / "fixtures"

P = FIXTURES / "primekg"


def test_primekg_fixture_nodes_edges_features():
    g = read_primekg(P / "kg.csv", P / "disease_features.tab", P / "drug_features.tab")
    assert len(g) == 6 and g.num_edges == 10
    assert sorted(g.node_ids()) == [
        "DrugBank:DB00331",
        "HPO:1638",
        "MONDO:4975",
        "MONDO:5015",
        "MONDO:5148",
        "NCBI:5148",
    ]
    t2d = g.node("MONDO:5148")
    assert t2d["type"] == "disease" and t2d["name"] == "type 2 diabetes mellitus"
    assert t2d["definition"].startswith("A type of diabetes mellitus")
    assert t2d["description"].startswith("A subclass of diabetes")
    # orphanet_definition fills in when mondo_definition is empty
    assert g.node("MONDO:4975")["definition"] == "A rare inborn error of metabolism with lactic acidosis."
    assert g.node("DrugBank:DB00331")["definition"].startswith("Metformin is a biguanide")
    assert g.neighbors("MONDO:5148", relation="indication") == ["DrugBank:DB00331"]
    assert "(Metformin, contraindication, lactic acidosis, congenital)" in g.triples("DrugBank:DB00331")
    assert g.stats()["relations"]["disease_disease"] == 2


def test_primekg_missing_column_is_a_clear_error(tmp_path):
    bad = tmp_path / "kg.csv"
    lines = (P / "kg.csv").read_text().splitlines()
    bad.write_text("\n".join([lines[0].replace("x_source", "x_src"), *lines[1:]]))
    with pytest.raises(UserInputError, match=r"lacks PrimeKG columns \['x_source'\]"):
        read_primekg(bad)
    with pytest.raises(UserInputError, match="not found"):
        read_primekg(tmp_path / "nope.csv")


def test_primekg_unknown_relation_skipped_and_counted(tmp_path):
    f = tmp_path / "kg.csv"
    f.write_text(
        (P / "kg.csv").read_text()
        + "made_up,odd,0,5148,disease,type 2 diabetes mellitus,MONDO,3,5148,gene/protein,PPARG,NCBI\n"
    )
    g = read_primekg(f)
    assert g.build_report["edges_unknown_relation"] == 1 and g.num_edges == 10
    with pytest.raises(UserInputError, match="unknown relations"):
        read_primekg(f, unknown_relations="error")


def test_primekg_features_missing_columns(tmp_path):
    f = tmp_path / "disease_features.tab"
    f.write_text("node_index\tmondo_name\n0\tx\n")
    with pytest.raises(UserInputError, match="mondo_definition"):
        read_primekg(P / "kg.csv", disease_features=f)


def test_bios_reader_fixture():
    g = read_bios(FIXTURES / "bios")
    assert sorted(g.node_ids()) == ["C0020538", "C0020598", "C0020621", "C0022658"]
    assert g.node("C0020538")["name"] == "Hypertensive disease"
    assert set(g.synonyms("C0020538")) == {
        "hypertension",
        "high blood pressure",
        "htn",
        "arterial hypertension",
    }
    assert g.node("C0022658")["name"] == "kidney disease" and g.synonyms("C0022658") == ["renal disease"]
    assert g.hypernyms("C0020538") == ["C0020598"]
    assert g.neighbors("C0020538", relation="related_to") == ["C0022658"]  # self-relation dropped
    assert g.build_report["edges_dangling"] == 1  # is_a to C9999999
    assert g.find("HTN") == ["C0020538"]


def test_bios_missing_file(tmp_path):
    (tmp_path / "CUI2term.json").write_text("{}")
    with pytest.raises(UserInputError, match="term2CUI.json"):
        read_bios(tmp_path)


def test_primekg_csv_roundtrip_of_a_graph(tiny_kg, tmp_path):
    from kg.readers.primekg import to_primekg_frame
    from kg.schema import PRIMEKG_COLUMNS

    frame = to_primekg_frame(tiny_kg)
    assert tuple(frame.columns) == PRIMEKG_COLUMNS and frame.height == tiny_kg.num_edges
    frame.write_csv(tmp_path / "kg.csv")
    back = read_primekg(tmp_path / "kg.csv", id_style="as_is")
    assert sorted(back.node_ids()) == sorted(tiny_kg.node_ids())
    for node_id in tiny_kg.node_ids():
        assert sorted(back.triples(node_id)) == sorted(tiny_kg.triples(node_id))
    assert back.hypernyms("E87.6") == ["N18.9"]
