"""`emerge retriever eval | index | search` (emerge/cli/retriever_eval.py): the commands over drehr's
readers, evaluation runner and Retriever, which are tested in tests/drehr. Most tests put the toy encoder
behind --model; the saved-model ones load the session's tiny BERT."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest
from click.testing import CliRunner

from drehr import BiEncoder, Retriever
from drehr.index import ChunkIndex, Encoder
from emerge.cli import cli as emerge_cli
from emerge.cli import main, retriever_eval
from foundation.errors import ArtifactError, UserInputError
from tests.helpers.paths import DREHR_FIXTURES
from tests.helpers.retrieval import CHUNKS
from tests.helpers.toy_encoder import ToyEncoder


def _run(args):
    return CliRunner().invoke(emerge_cli, args)


def test_cli_index_then_search_a_saved_model(tmp_path, tiny_bert_dir):
    chunks = tmp_path / "chunks.parquet"
    CHUNKS.write_parquet(chunks)
    out = tmp_path / "retriever"
    args = ["retriever", "index", "--model", str(tiny_bert_dir), "--chunks", str(chunks), "--out", str(out)]
    result = _run(args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["chunks"] == 6 and summary["patients"] == 3 and summary["structure"] == "flat"
    assert (tmp_path / ".retriever.work").is_dir()  # encoded shards, reused by a rerun
    assert _run(args).exit_code == 0  # our own folder is replaced

    search = ["retriever", "search", "--retriever", str(out), "--query", "heart failure"]
    hits = [json.loads(line) for line in _run(search + ["--patient", "a"]).stdout.splitlines()]
    assert [h["patient_id"] for h in hits] == ["a", "a", "a"] and [h["rank"] for h in hits] == [1, 2, 3]
    assert {"chunk_id", "patient_id", "score", "text"} <= set(hits[0])
    assert (
        hits
        == Retriever.load(out)
        .search("heart failure", patients="a")
        .select("query", "rank", "chunk_id", "patient_id", "score", "text")
        .to_dicts()
    )
    some = [
        json.loads(line)
        for line in _run(search + ["--patient", "b", "--patient", "c", "-k", "2"]).stdout.splitlines()
    ]
    assert len(some) == 2 and {h["patient_id"] for h in some} <= {"b", "c"}
    everyone = [json.loads(line) for line in _run(search + ["-k", "4"]).stdout.splitlines()]
    assert len(everyone) == 4


def test_cli_index_refuses_a_users_folder_before_encoding(tmp_path, tiny_bert_dir):
    chunks = tmp_path / "chunks.parquet"
    CHUNKS.write_parquet(chunks)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("x")
    result = _run(
        ["retriever", "index", "--model", str(tiny_bert_dir), "--chunks", str(chunks), "--out", str(mine)]
    )
    assert result.exit_code != 0 and isinstance(result.exception, UserInputError)
    assert "--out" in str(result.exception) and not (tmp_path / ".mine.work").exists()
    result = _run(["retriever", "search", "--retriever", str(tmp_path), "--query", "x"])
    assert isinstance(result.exception, ArtifactError)


@pytest.fixture
def cli(monkeypatch):
    """`emerge.cli.main` with the toy encoder behind every --model."""
    monkeypatch.setattr(retriever_eval, "load_encoder", lambda model, device="auto": ToyEncoder(256))
    return main


def test_cli_eval_prints_dense_and_baselines(cli, capsys):
    cli(["retriever", "eval", "--model", "toy", "--data", str(DREHR_FIXTURES / "cliniq")])
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "cliniq" and {"dense", "bm25", "bm25+dense_rrf"} <= set(out)
    # phytonadione / folic acid occur verbatim in one chunk each: BM25 ranks them first
    assert out["bm25"]["cliniq"]["multi_patient"]["drug"]["mrr"] == 1.0
    assert out["dense"]["n_queries"] == 6


def test_cli_index_then_search(cli, capsys, tmp_path, monkeypatch, tiny_bert_dir):
    encoder = BiEncoder.from_pretrained(tiny_bert_dir)  # a retriever saves its encoder
    monkeypatch.setattr(retriever_eval, "load_encoder", lambda model, device="auto": encoder)
    chunks = tmp_path / "chunks.parquet"
    pl.DataFrame(
        {
            "chunk_id": ["1_0", "1_1", "2_0"],
            "patient_id": ["1", "1", "2"],
            "text": ["heart failure", "knee pain", "phenytoin"],
        }
    ).write_parquet(chunks)
    cli(["retriever", "index", "--model", "tiny", "--chunks", str(chunks), "--out", str(tmp_path / "idx")])
    summary = json.loads(capsys.readouterr().out)
    assert summary["chunks"] == 3 and summary["structure"] == "flat"
    index = ChunkIndex.load(tmp_path / "idx" / "index")  # the low-level index inside the retriever folder
    expected = index.search(["heart failure"], k=2, encoder=encoder, patients=["1"]).chunk_ids[0]
    cli(
        [
            "retriever",
            "search",
            "--retriever",
            str(tmp_path / "idx"),
            "--query",
            "heart failure",
            "--patient",
            "1",
        ]
    )
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [h["chunk_id"] for h in hits] == expected and {h["patient_id"] for h in hits} == {"1"}


def test_cli_errors_are_one_line_exit_2(cli, capsys, tmp_path):
    bad = tmp_path / "chunks.jsonl"
    bad.write_text('{"chunk_id": "1_0", "text": "x"}\n')
    with pytest.raises(SystemExit) as exc:
        cli(["retriever", "index", "--model", "toy", "--chunks", str(bad), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "patient_id" in capsys.readouterr().err
    good = tmp_path / "good.jsonl"
    good.write_text('{"chunk_id": "1_0", "patient_id": "1", "text": "x"}\n')
    with pytest.raises(SystemExit) as exc:  # refused before encoding: the toy encoder cannot be saved
        cli(["retriever", "index", "--model", "toy", "--chunks", str(good), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and "save_pretrained" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / ".o.work").exists()
    with pytest.raises(SystemExit) as exc:
        cli(["retriever", "search", "--retriever", str(tmp_path), "--query", "x"])
    assert exc.value.code == 2 and "drehr_retriever" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli(["retriever", "eval", "--model", "toy", "--data", str(tmp_path)])
    assert exc.value.code == 2


@pytest.mark.slow
def test_real_biencoder_follows_the_encoder_protocol(tmp_path):
    """The bundled MiniLM through drehr.model.BiEncoder: index, search, and the CLI's loader."""
    encoder = retriever_eval.load_encoder("default")
    assert isinstance(encoder, Encoder)
    index = ChunkIndex.for_encoder(encoder)
    index.add(
        ["1_0", "1_1", "2_0"],
        ["1", "1", "2"],
        encoder.encode(["congestive heart failure", "fractured knee", "seizure on phenytoin"]),
    )
    assert index.search_patient("1", "cardiac failure", encoder=encoder).chunk_ids[0][0] == "1_0"
    index.save(tmp_path / "idx")
    assert ChunkIndex.load(tmp_path / "idx").search(["anticonvulsant"], k=1, encoder=encoder).chunk_ids == [
        ["2_0"]
    ]


def test_cli_build_cliniq_corpus_then_eval_with_official_format_qrels(cli, capsys, tmp_path):
    """NOTEEVENTS (MIMIC-III layout) -> corpus.jsonl -> `eval --format cliniq` with real queries and
    hand-made qrels in CliniQ's format (tests/drehr/fixtures/cliniq/mimic3/README.md)."""
    fixture = DREHR_FIXTURES / "cliniq" / "mimic3"
    data = tmp_path / "cliniq"
    data.mkdir()
    for path in fixture.glob("q*_*"):  # queries_*.jsonl, qrels_*.tsv
        shutil.copy(path, data / path.name)
    noteevents, ids = fixture / "NOTEEVENTS_sample.csv", fixture / "test_hadm_ids.txt"
    build = ["retriever", "build-cliniq", "--noteevents", str(noteevents), "--hadm-ids", str(ids)]
    cli(build + ["--out", str(data / "corpus.jsonl")])
    summary = json.loads(capsys.readouterr().out)
    assert summary["chunks"] == 15 and summary["not_in_noteevents"] == ["100009"]
    assert (data / "corpus.jsonl").read_bytes() == (
        fixture / "corpus_by_cliniq_preprocess.jsonl"
    ).read_bytes()

    cli(["retriever", "eval", "--model", "toy", "--data", str(data), "--format", "cliniq"])
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "cliniq"
    # queries 0, 329, 695, 697 have judgments on the built corpus (query 2's only chunk, 100009_0, is not)
    assert out["dense"]["n_queries"] == 4
    # "phenytoin" and "pantoprazole" occur once each, in the chunk judged relevant: BM25 ranks it first
    assert out["bm25"]["cliniq"]["multi_patient"]["drug"]["mrr"] == 1.0

    mine = tmp_path / "mine.jsonl"
    mine.write_text("my notes\n")
    with pytest.raises(SystemExit) as exc:
        cli(build + ["--out", str(mine)])
    assert exc.value.code == 2 and "refusing to overwrite" in capsys.readouterr().err
    assert mine.read_text() == "my notes\n"
