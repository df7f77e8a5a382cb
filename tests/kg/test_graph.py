from __future__ import annotations

import json

import networkx as nx
import polars as pl
import pytest

from foundation.errors import ArtifactError, UserInputError
from kg.build import build_graph
from kg.graph import KnowledgeGraph


def test_node_lookup_and_find(tiny_kg):
    assert len(tiny_kg) == 5 and tiny_kg.num_edges == 7
    assert tiny_kg.node("E87.6")["name"] == "Hypokalemia"
    assert tiny_kg.find("  LOW   Potassium ") == ["E87.6"]
    assert tiny_kg.find("htn") == ["HP:0000822", "I10"]
    assert tiny_kg.find("nothing") == []
    assert tiny_kg.synonyms("HP:0000822") == ["High blood pressure", "HTN"]
    with pytest.raises(UserInputError, match="not in knowledge graph"):
        tiny_kg.node("X:1")


def test_definition_document_follows_emerge_format(tiny_kg):
    assert tiny_kg.definition_document("E87.6") == (
        "[disease name]Hypokalemia [definition]Low blood potassium. "
        "[description]Serum potassium below 3.5 mmol/L."
    )
    # a definition only: the description tag stays, empty (as EMERGE writes a missing umls_description)
    assert tiny_kg.definition_document("HP:0000822") == (
        "[effect/phenotype name]Hypertension [definition]Increased pressure in the systemic arterial system. "
        "[description]"
    )
    assert tiny_kg.definition_document("N18.9") == ""  # no text: no document, as in EMERGE


def test_neighbors_relations_and_directions(tiny_kg):
    assert tiny_kg.neighbors("I10") == ["HP:0000822", "N18.9", "DB00999", "E87.6"]
    assert tiny_kg.neighbors("I10", relation="indication") == ["DB00999"]
    assert tiny_kg.neighbors("I10", relation="associated with") == ["N18.9", "E87.6"]
    assert tiny_kg.neighbors("E87.6", direction="in") == ["I10", "DB00999"]
    assert tiny_kg.hypernyms("E87.6") == ["N18.9"]
    assert tiny_kg.hypernyms("I10") == []
    with pytest.raises(UserInputError, match="does not occur"):
        tiny_kg.neighbors("I10", relation="protein_protein")


def test_triples_format_and_seeded_sampling(tiny_kg):
    all_triples = tiny_kg.triples("I10")
    assert all_triples == [
        "(Essential (primary) hypertension, same as, Hypertension)",
        "(Essential (primary) hypertension, associated with, Chronic kidney disease)",
        "(Essential (primary) hypertension, treated by, Hydrochlorothiazide)",
        "(Essential (primary) hypertension, associated with, Hypokalemia)",
    ]
    picked = tiny_kg.triples("I10", k=2, seed=3)
    assert len(picked) == 2 and set(picked) <= set(all_triples)
    assert picked == tiny_kg.triples("I10", k=2, seed=3)
    assert {tuple(tiny_kg.triples("I10", k=2, seed=s)) for s in range(20)} != {tuple(picked)}
    assert tiny_kg.triples("I10", k=10) == all_triples


def test_subgraph_hops(tiny_kg):
    assert sorted(tiny_kg.subgraph(["N18.9"], k=0).node_ids()) == ["N18.9"]
    one = tiny_kg.subgraph(["N18.9"], k=1)
    assert sorted(one.node_ids()) == ["E87.6", "I10", "N18.9"]
    assert one.num_edges == 3  # I10->N18.9, I10->E87.6, E87.6->N18.9
    assert len(tiny_kg.subgraph(["N18.9"], k=2)) == 5


def test_networkx_view(tiny_kg):
    g = tiny_kg.to_networkx()
    assert isinstance(g, nx.MultiDiGraph)
    assert g.number_of_nodes() == 5 and g.number_of_edges() == 7
    assert g.has_edge("E87.6", "N18.9", key="is_a")
    assert g.nodes["I10"]["type"] == "disease"


def test_surface_forms_and_stats(tiny_kg):
    forms = tiny_kg.surface_forms()
    assert forms["htn"] == ["HP:0000822", "I10"]
    s = tiny_kg.stats()
    assert s["nodes"] == 5 and s["edges"] == 7
    assert s["node_types"] == {"disease": 3, "effect/phenotype": 1, "drug": 1}
    assert s["relations"]["disease_disease"] == 2 and s["with_definition"] == 2


def test_save_load_roundtrip(tiny_kg, tmp_path):
    tiny_kg.save(tmp_path / "g")
    back = KnowledgeGraph.load(tmp_path / "g")
    assert back.node_ids() == tiny_kg.node_ids()
    assert back.triples("I10") == tiny_kg.triples("I10")
    assert back.synonyms("HP:0000822") == ["High blood pressure", "HTN"]
    cfg = json.loads((tmp_path / "g" / "config.json").read_text())
    assert cfg["kind"] == "knowledge_graph" and cfg["format_version"] == 1
    cfg["format_version"] = 99
    (tmp_path / "g" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ArtifactError, match="damaged after emerge wrote it.*config.json"):
        KnowledgeGraph.load(tmp_path / "g")
    from foundation.outputs import write_manifest

    write_manifest(tmp_path / "g", "knowledge_graph", 99, None)  # as another version would have written it
    with pytest.raises(ArtifactError, match="format_version"):
        KnowledgeGraph.load(tmp_path / "g")


def test_build_counts_bad_rows():
    nodes = pl.DataFrame(
        {
            "key": [1, 2, 3, 4, 4],
            "id": ["A", "B", "A", "", "D"],
            "type": ["disease"] * 5,
            "name": ["a", "b", "a again", "no id", "d"],
            "source": ["S"] * 5,
        }
    )
    edges = pl.DataFrame(
        {
            "head": [1, 3, 2, 1, 1, 9],
            "tail": [2, 2, 1, 2, 2, 1],
            "relation": ["is_a", "is_a", "made_up", "is_a", "indication", "is_a"],
            "display_relation": ["is a", "is a", "x", "is a", "indication", "is a"],
        }
    )
    g = build_graph(nodes, edges, name="bad")
    r = g.build_report
    assert r["nodes_empty_name_or_id"] == 1  # key 4 with empty id
    assert r["nodes_duplicate_key"] == 0  # the other key-4 row was the empty one
    assert r["nodes_duplicate_id_merged"] == 1  # key 3 merged into A
    assert r["edges_unknown_relation"] == 1
    assert r["edges_dangling"] == 1  # head 9
    assert r["edges_duplicate"] == 2  # 3->2 is A->B again, and the repeated 1->2 is_a
    assert sorted(g.node_ids()) == ["A", "B", "D"]
    assert g.neighbors("A") == ["B"] and g.num_edges == 2
    with pytest.raises(UserInputError, match="unknown relations"):
        build_graph(nodes, edges, unknown_relations="error")
    with pytest.raises(UserInputError, match="lacks columns"):
        build_graph(nodes.drop("name"), edges)


def test_stage1_protocol_methods(tiny_kg):
    # the names drehr's stage-I code calls: name, synonyms, hypernyms, related, lookup
    assert tiny_kg.name("E87.6") == "Hypokalemia" and tiny_kg.label == "tiny"
    assert tiny_kg.related("I10") == ["N18.9", "DB00999", "E87.6"]  # not same_as
    assert tiny_kg.related("E87.6") == []  # only an is_a edge
    assert tiny_kg.lookup("CKD") == ["N18.9"]


def test_content_fingerprint_sees_definitions_and_edges(tiny_kg):
    """Summaries depend on definitions and triples: a graph differing only there must not look the same."""
    from kg.linking import graph_fingerprint

    changed = KnowledgeGraph(
        tiny_kg.nodes.with_columns((pl.col("definition").fill_null("") + " edited").alias("definition")),
        tiny_kg._src,
        tiny_kg._dst,
        tiny_kg._rel,
        tiny_kg.relations,
        name=tiny_kg.label,
    )
    assert graph_fingerprint(changed) == graph_fingerprint(tiny_kg)  # the linker index stays valid
    assert changed.content_fingerprint() != tiny_kg.content_fingerprint()
    fewer = KnowledgeGraph(
        tiny_kg.nodes, tiny_kg._src[1:], tiny_kg._dst[1:], tiny_kg._rel[1:], tiny_kg.relations
    )
    assert fewer.content_fingerprint() != tiny_kg.content_fingerprint()
