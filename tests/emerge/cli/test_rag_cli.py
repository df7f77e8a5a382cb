"""`emerge rag entities|link --mode retriever`: KG concepts retrieved from the notes with the bundled MiniLM,
passed through linking, and the errors a user can run into."""

from __future__ import annotations

import polars as pl
import pytest

from emerge.cli import main
from tests.helpers.kg import QUALIFIER_IDS, qualifier_kg


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from emerge.data.build import build_dataset
    from emerge.data.config import BuildConfig
    from emerge.data.synth import generate

    ws = tmp_path_factory.mktemp("rag_cli")
    generate(ws / "synth", stays=30, seed=5)
    build_dataset(ws / "synth", ws / "data", BuildConfig(version="iv"))
    qualifier_kg().save(ws / "kg")
    return ws


@pytest.fixture
def ws(workspace, tmp_path, monkeypatch):
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("EMERGE_CACHE", str(tmp_path / "cache"))
    return workspace


def _ok(argv, capsys) -> str:
    main(argv)
    return capsys.readouterr().out


def _error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err, err
    return err


def test_entities_and_link_in_retriever_mode(ws, tmp_path, capsys):
    out = str(tmp_path / "rag")
    common = ["--kg", "kg", "--out", out, "--mode", "retriever", "--model", "default", "--device", "cpu"]
    said = _ok(["rag", "entities", "--data", "data", *common, "--concept-threshold", "0.4"], capsys)
    assert "entity rows" in said
    ent = pl.read_parquet(tmp_path / "rag" / "entities" / "entities.parquet")
    notes = ent.filter(pl.col("source") == "notes")
    assert notes.height and notes["node_id"].is_not_null().all() and (notes["evidence_score"] >= 0.4).all()
    assert not set(notes["node_id"].to_list()) & QUALIFIER_IDS
    assert list((tmp_path / "cache" / "linkers").iterdir())  # the concept index, cached outside the KG

    _ok(["rag", "link", *common, "--exact-only"], capsys)
    linked = pl.read_parquet(tmp_path / "rag" / "linked" / "linked.parquet")
    passed = linked.filter(pl.col("source") == "notes")
    assert passed["node_id"].to_list() == notes["node_id"].to_list() and (passed["score"] == 1.0).all()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mode", "retriever", "--model", "no_such_model"], "model 'no_such_model' is not a folder"),
        (["--mode", "retriever", "--model", "kg"], "is not a model folder"),
        (["--mode", "retriever", "--kg", "no_such_kg"], "neither 'starter' nor a saved knowledge graph"),
        (["--mode", "bogus"], "'bogus' is not one of 'llm', 'matcher', 'union', 'retriever'"),
        (["--mode", "retriever", "--concept-threshold", "3"], "is not in the range"),
    ],
    ids=["missing-model", "not-a-model", "missing-kg", "unknown-mode", "threshold-range"],
)
def test_bad_input(ws, tmp_path, capsys, extra, message):
    argv = ["rag", "entities", "--data", "data", "--kg", "kg", "--out", str(tmp_path / "rag"), *extra]
    assert message in _error(argv, capsys)
    assert not (tmp_path / "rag" / "entities").exists()
