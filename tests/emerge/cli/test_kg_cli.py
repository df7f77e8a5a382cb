"""`emerge kg stats | link` on the tiny KG, and the real starter KG linked with the encoder those commands
use (emerge/cli/kg.py). The kg package itself is tested in tests/kg."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from emerge.cli import cli, main
from emerge.cli.kg import encoder_fn
from kg.linking import EntityLinker
from kg.retrieval import gather_knowledge
from kg.starter import load_starter_kg


def test_stats_and_link_on_saved_kg(tiny_kg, tmp_path, monkeypatch):
    monkeypatch.setenv("EMERGE_CACHE", str(tmp_path / "cache"))
    tiny_kg.save(tmp_path / "kg")
    saved = sorted(p.name for p in (tmp_path / "kg").iterdir())
    runner = CliRunner()
    res = runner.invoke(cli, ["kg", "stats", str(tmp_path / "kg")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["nodes"] == 5
    (tmp_path / "m.txt").write_text("HTN\nlow potassium\n\nchronic kidney disease stage 3\nbanana bread\n")
    res = runner.invoke(
        cli,
        [
            "kg",
            "link",
            "--kg",
            str(tmp_path / "kg"),
            "--mentions",
            str(tmp_path / "m.txt"),
            "--types",
            "disease",
            "--out",
            str(tmp_path / "out.jsonl"),
        ],
    )
    assert res.exit_code == 0, res.output
    recs = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["mention"] for r in recs] == [
        "HTN",
        "low potassium",
        "chronic kidney disease stage 3",
        "banana bread",
    ]
    assert [r["node_id"] for r in recs[:3]] == ["I10", "E87.6", "N18.9"]  # the third by MiniLM cosine
    assert recs[2]["score"] < 1.0 and recs[3]["node_id"] is None
    assert list((tmp_path / "cache" / "linkers").glob("linker_*/index.faiss"))
    assert sorted(p.name for p in (tmp_path / "kg").iterdir()) == saved  # the KG folder is left as saved
    (tmp_path / "mine.jsonl").write_text("my own results\n")
    res = runner.invoke(
        cli,
        [
            "kg",
            "link",
            "--kg",
            str(tmp_path / "kg"),
            "--mentions",
            str(tmp_path / "m.txt"),
            "--out",
            str(tmp_path / "mine.jsonl"),
        ],
    )
    assert res.exit_code != 0 and "not written by emerge" in str(res.exception)
    assert (tmp_path / "mine.jsonl").read_text() == "my own results\n"


def test_link_missing_file_is_a_user_error(tiny_kg, tmp_path):
    tiny_kg.save(tmp_path / "kg")
    with pytest.raises(SystemExit) as exc:
        main(["kg", "link", "--kg", str(tmp_path / "kg"), "--mentions", str(tmp_path / "none.txt")])
    assert exc.value.code == 2


@pytest.mark.slow
def test_real_starter_kg_has_icu_conditions_and_links(tmp_path_factory):
    """The real starter KG, linked with the encoder the `kg` commands use (the bundled MiniLM)."""
    g = load_starter_kg()  # ~1 min on first use, then cached
    for name, node_id in [
        ("sepsis", "HP:0100806"),
        ("acute kidney injury", "HP:0001919"),
        ("heart failure", "I50.9"),
        ("hypertension", "HP:0000822"),
        ("copd", "J44.9"),
        ("pneumonia", "J18.9"),
        ("hyperkalemia", "E87.5"),
    ]:
        assert node_id in g.find(name), name
    for node_id in ("HP:0100806", "HP:0001919", "HP:0000822", "HP:0002153", "I10", "N17.9", "E87.5"):
        assert g.node(node_id)["definition"], node_id
    assert "N17" in g.hypernyms("N17.9") and g.hypernyms("HP:0002900") == ["HP:0011042"]
    assert g.hypernyms("B10") == [
        "ICD10CM:CHAPTER_1"
    ]  # block + category sharing a code: one node, no self-loop
    assert "I10" in g.neighbors("ICD9CM:401.9", relation="maps_to")
    linker = EntityLinker(g, encoder_fn(), threshold=0.7, types="disease,phenotype")
    recs = {
        r["mention"]: r
        for r in linker.link(["high blood pressure", "HTN", "low potassium", "kidney failure"])
    }
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
