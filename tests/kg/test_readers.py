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
    # EMERGE's definition part: "{mondo_definition}. {orphanet_definition}", verbatim
    assert t2d["definition"] == (
        "A type of diabetes mellitus that is characterized by insulin resistance.. "
        "A form of diabetes with insulin resistance and relative insulin deficiency."
    )
    assert t2d["description"] == "A subclass of diabetes mellitus that is not insulin-responsive."
    # no mondo_definition: orphanet_definition alone; orphanet_clinical_description is not used
    assert g.node("MONDO:4975")["definition"] == "A rare inborn error of metabolism with lactic acidosis."
    assert g.node("MONDO:4975")["description"] is None
    drug = g.node("DrugBank:DB00331")
    assert drug["definition"] is None and drug["description"].startswith("Metformin is a biguanide")
    assert g.neighbors("MONDO:5148", relation="indication") == ["DrugBank:DB00331"]
    assert "(Metformin, contraindication, lactic acidosis, congenital)" in g.triples("DrugBank:DB00331")
    assert g.stats()["relations"]["disease_disease"] == 2


def _emerge_document(row: dict[str, str | None]) -> str:
    """EMERGE's rag/retrieve.py `load_info`, for a disease_features row with a mondo_definition (absent
    fields are pandas NaN there, printed as "nan" and then removed: here "")."""
    d = {k: "" if v is None else v for k, v in row.items()}
    return (
        f"[disease name]{d['mondo_name']} [definition]{d['mondo_definition']}. {d['orphanet_definition']} "
        f"[description]{d['umls_description']}"
    )


def test_primekg_documents_follow_emerge_format():
    g = read_primekg(P / "kg.csv", P / "disease_features.tab", P / "drug_features.tab")
    # every field: hand-worked, and equal to EMERGE's own f-string on the row it reads
    expected = (
        "[disease name]type 2 diabetes mellitus "
        "[definition]A type of diabetes mellitus that is characterized by insulin resistance.. "
        "A form of diabetes with insulin resistance and relative insulin deficiency. "
        "[description]A subclass of diabetes mellitus that is not insulin-responsive."
    )
    assert g.definition_document("MONDO:5148") == expected
    row = {
        "mondo_name": "type 2 diabetes mellitus",
        "mondo_definition": "A type of diabetes mellitus that is characterized by insulin resistance.",
        "orphanet_definition": "A form of diabetes with insulin resistance and relative insulin deficiency.",
        "umls_description": "A subclass of diabetes mellitus that is not insulin-responsive.",
    }
    assert _emerge_document(row) == expected
    # only a UMLS description: EMERGE writes no document; ours keeps the description
    assert g.definition_document("MONDO:5015") == (
        "[disease name]diabetes mellitus [definition] [description]A heterogeneous group of disorders "
        "characterized by hyperglycemia and glucose intolerance."
    )
    assert g.definition_document("MONDO:4975") == (
        "[disease name]lactic acidosis, congenital "
        "[definition]A rare inborn error of metabolism with lactic acidosis. [description]"
    )
    assert g.definition_document("DrugBank:DB00331") == (
        "[drug name]Metformin [definition] [description]Metformin is a biguanide antihyperglycemic agent."
    )
    assert g.definition_document("HPO:1638") == ""  # no features: no document


def test_primekg_document_without_orphanet_column_matches_emerge(tmp_path):
    """A features file without orphanet_definition (and a comma-separated copy, as PrimeKG's scripts
    write it): EMERGE's ". " still follows the MONDO definition, then the empty Orphanet field."""
    f = tmp_path / "disease_features.csv"
    f.write_text(
        "node_index,mondo_name,mondo_definition,umls_description\n"
        '0,type 2 diabetes mellitus,"Insulin resistance, then deficiency.",\n'
    )
    g = read_primekg(P / "kg.csv", disease_features=f)
    row = {
        "mondo_name": "type 2 diabetes mellitus",
        "mondo_definition": "Insulin resistance, then deficiency.",
        "orphanet_definition": None,
        "umls_description": None,
    }
    assert (
        g.definition_document("MONDO:5148")
        == _emerge_document(row)
        == (
            "[disease name]type 2 diabetes mellitus "
            "[definition]Insulin resistance, then deficiency..  [description]"
        )
    )


def test_primekg_features_with_a_bad_node_index(tmp_path):
    f = tmp_path / "drug_features.tab"
    f.write_text("node_index\tdescription\nDB00331\tMetformin.\n")
    with pytest.raises(UserInputError, match=r"node_index that is not an integer \(e.g. \['DB00331'\]\)"):
        read_primekg(P / "kg.csv", drug_features=f)
    f.write_text("node_index\tdescription\n\tStray text.\n2\t  \n2\tMetformin.\n")  # no index; blank
    assert read_primekg(P / "kg.csv", drug_features=f).node("DrugBank:DB00331")["description"] == "Metformin."


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
    assert g.label == "bios"  # not the last concept's name
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
