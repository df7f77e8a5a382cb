"""`kg.loading`: PrimeKG with its features folder (as Harvard Dataverse serves it, or as PrimeKG's scripts
write it), and the messages that send a user from a raw PrimeKG / BIOS input to `emerge kg import`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from foundation.errors import UserInputError
from kg.loading import load_graph, open_graph_spec, primekg_feature_files

FIXTURES = Path(__file__).parent / "fixtures"
P = FIXTURES / "primekg"


def test_primekg_with_features_folder_gets_documents():
    g = load_graph("primekg", P / "kg.csv", features=P)
    assert g.definition_document("MONDO:5015").startswith("[disease name]diabetes mellitus [definition] ")
    assert g.node("DrugBank:DB00331")["description"].startswith("Metformin")
    bare = load_graph("primekg", P / "kg.csv")
    assert bare.definition_document("MONDO:5148") == ""  # no features folder: no text


def test_feature_files_tab_then_csv(tmp_path):
    assert primekg_feature_files(P) == (P / "disease_features.tab", P / "drug_features.tab")
    shutil.copy(P / "disease_features.tab", tmp_path / "disease_features.csv")  # separator is detected
    assert primekg_feature_files(tmp_path) == (tmp_path / "disease_features.csv", None)
    g = load_graph("primekg", P / "kg.csv", features=tmp_path)
    assert g.node("MONDO:5148")["description"].startswith("A subclass")
    assert g.node("DrugBank:DB00331")["description"] is None


def test_features_folder_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UserInputError, match=r"holds neither disease_features.tab nor.*\['notes.txt'\]"):
        load_graph("primekg", P / "kg.csv", features=tmp_path)
    with pytest.raises(UserInputError, match="features folder .*nowhere does not exist"):
        load_graph("primekg", P / "kg.csv", features=tmp_path / "nowhere")
    with pytest.raises(UserInputError, match="only PrimeKG reads one"):
        load_graph("bios", FIXTURES / "bios", features=P)


def test_kg_spec_errors_point_at_the_import_commands():
    with pytest.raises(UserInputError, match=r"emerge kg import primekg --kg-csv .*kg.csv --out DIR"):
        open_graph_spec(P / "kg.csv")
    with pytest.raises(UserInputError, match=r"BIOS folder: import it with emerge kg import bios --dir"):
        open_graph_spec(FIXTURES / "bios")
    with pytest.raises(UserInputError, match=r"neither 'starter' nor .*emerge kg build-starter"):
        open_graph_spec(FIXTURES)
