"""`emerge kg stats | link` on the tiny KG, `emerge kg import primekg | bios` on the committed fixtures (and
those sources in an experiment's kg section), and the real starter KG linked with the encoder those
commands use (emerge/cli/kg.py). The kg package itself is tested in tests/kg."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from emerge.cli import cli, main
from emerge.cli.kg import encoder_fn
from emerge.experiment.config import load_experiment
from emerge.experiment.stages import Run, kg_stage
from foundation.errors import UserInputError
from kg.graph import KnowledgeGraph
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


KG_FIXTURES = Path(__file__).parents[2] / "kg" / "fixtures"
PRIMEKG = KG_FIXTURES / "primekg"
T2D_DOCUMENT = (
    "[disease name]type 2 diabetes mellitus "
    "[definition]A type of diabetes mellitus that is characterized by insulin resistance.. "
    "A form of diabetes with insulin resistance and relative insulin deficiency. "
    "[description]A subclass of diabetes mellitus that is not insulin-responsive."
)


def test_import_primekg_and_bios_save_kg_folders(tmp_path):
    runner = CliRunner()
    out = tmp_path / "primekg_kg"
    argv = ["kg", "import", "primekg", "--kg-csv", str(PRIMEKG / "kg.csv"), "--features-dir", str(PRIMEKG)]
    res = runner.invoke(cli, [*argv, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "nodes=6, edges=10" in res.output and "4 nodes with a document" in res.output
    g = KnowledgeGraph.load(out)
    assert g.definition_document("MONDO:5148") == T2D_DOCUMENT
    assert g.definition_document("DrugBank:DB00331").startswith(
        "[drug name]Metformin [definition] [description]"
    )
    res = runner.invoke(cli, ["kg", "stats", str(out)])
    assert res.exit_code == 0 and json.loads(res.output)["nodes"] == 6
    res = runner.invoke(cli, [*argv, "--out", str(out)])  # our own folder: replaced
    assert res.exit_code == 0, res.output

    res = runner.invoke(cli, ["kg", "import", "bios", "--dir", str(KG_FIXTURES / "bios"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "name='bios'" in res.output and "edges_dangling" in res.output  # counted skips are reported
    bios = KnowledgeGraph.load(out)
    assert bios.find("HTN") == ["C0020538"] and bios.hypernyms("C0020538") == ["C0020598"]


def test_import_refuses_a_users_folder_before_reading(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit) as exc:
        main(["kg", "import", "primekg", "--kg-csv", str(tmp_path / "absent.csv"), "--out", str(mine)])
    assert exc.value.code == 2  # the folder is checked first: the missing kg.csv is not even read
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    res = CliRunner().invoke(cli, ["kg", "stats", str(PRIMEKG / "kg.csv")])
    assert res.exit_code != 0 and "emerge kg import primekg --kg-csv" in str(res.exception)


def test_experiment_reads_primekg_with_features_and_an_imported_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kg = [f"kg.path={PRIMEKG / 'kg.csv'}", "kg.source=primekg", f"kg.features={PRIMEKG}"]
    config = load_experiment("demo", kg)
    assert config.kg.features == str(PRIMEKG)
    res = CliRunner().invoke(
        cli, ["run", "--config", "demo", *sum((["--set", s] for s in kg), []), "--check"]
    )
    assert res.exit_code == 0, res.output
    assert f"knowledge graph: primekg at {PRIMEKG / 'kg.csv'}, features from {PRIMEKG}" in res.output
    graph = kg_stage(Run(config.resolve(), tmp_path / "run"))
    assert graph.definition_document("MONDO:5148") == T2D_DOCUMENT
    main_argv = [
        "kg",
        "import",
        "primekg",
        "--kg-csv",
        str(PRIMEKG / "kg.csv"),
        "--features-dir",
        str(PRIMEKG),
    ]
    assert CliRunner().invoke(cli, [*main_argv, "--out", "imported"]).exit_code == 0
    folder = load_experiment("demo", ["kg.source=folder", "kg.path=imported"])
    assert kg_stage(Run(folder.resolve(), tmp_path / "run")).definition_document("MONDO:5148") == T2D_DOCUMENT
    with pytest.raises(UserInputError, match="kg.features is only read for kg.source 'primekg'"):
        load_experiment("demo", ["kg.source=folder", "kg.path=imported", f"kg.features={PRIMEKG}"])


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
