"""Readers (BEIR, CliniQ), the evaluation runner on hand-computed rankings, ICD-10, and the CLI."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest

from drehr.evaluation import evaluate_scorer, read_beir, read_cliniq
from drehr.evaluation.icd10 import (
    ICD10Query,
    candidate_codes,
    inclusion_term_queries,
    load_rephrasings,
    run_icd10_benchmark,
)
from foundation.errors import UserInputError

FIXTURES = Path(__file__).parent / "fixtures"
_spec = importlib.util.spec_from_file_location("drehr_toy_encoder", FIXTURES / "toy_encoder.py")
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
ToyEncoder = _mod.ToyEncoder
L = math.log2


def test_read_cliniq_real_queries_and_faulty_qrels(caplog):
    with caplog.at_level(logging.WARNING):
        data = read_cliniq(FIXTURES / "cliniq")
    assert data.queries["2"] == "heart failure" and data.queries["694"] == "phytonadione"
    assert data.query_sets == {"disease": ["0", "1", "2", "3"], "drug": ["694", "695", "696"]}
    assert data.qrels["2"] == {"200_0": 1, "200_1": 1, "300_0": 1}  # 999_0 unknown, dup counted once
    assert data.match_types["2"]["200_0"] == "string"  # the first of the duplicated pair
    assert data.evaluated_queries == ["0", "1", "2", "694", "695", "696"]
    assert set(data.corpus["patient_id"].unique().to_list()) == {"100", "200", "300"}
    text = caplog.text
    assert "absent from the corpus" in text and "absent from the queries" in text and "more than once" in text


def test_read_beir_with_header_empty_text_and_unknown_ids(caplog):
    with caplog.at_level(logging.WARNING):
        data = read_beir(FIXTURES / "beir")
    assert data.qrels == {"q1": {"100_0": 1, "100_1": 2}, "q2": {"100_3": 1}}
    assert "100_6" not in data.corpus["_id"].to_list()
    assert "empty text" in caplog.text


def test_readers_refuse_bad_folders(tmp_path):
    with pytest.raises(UserInputError, match="queries_"):
        read_cliniq(tmp_path)
    (tmp_path / "queries_drug.jsonl").write_text('{"_id": "1", "text": "x"}\n')
    with pytest.raises(UserInputError, match="MIMIC-III"):
        read_cliniq(tmp_path)
    (tmp_path / "corpus.jsonl").write_text('{"id": "1_0"}\n')
    with pytest.raises(UserInputError, match='lacks "_id"'):
        read_cliniq(tmp_path)


class CorpusOrderScorer:
    """Scores every chunk by -position: the ranking is the corpus order, for every query."""

    name = "corpus-order"

    def fit(self, corpus):
        self.n = len(corpus)

    def scores(self, queries):
        yield np.tile(-np.arange(self.n, dtype=np.float32), (len(queries), 1))


def test_runner_cliniq_metrics_hand_computed():
    # corpus order: 100_0..100_5 (rows 0-5), 200_0..200_5 (6-11), 300_0..300_2 (12-14)
    out = evaluate_scorer(CorpusOrderScorer(), read_cliniq(FIXTURES / "cliniq"))
    multi = out["cliniq"]["multi_patient"]["all"]
    # relevant ranks per query: 0:{1,2} 1:{3} 2:{7,8,13} 694:{14} 695:{5,9} 696:{10}
    assert multi["mrr"] == pytest.approx(np.mean([1, 1 / 3, 1 / 7, 1 / 14, 1 / 5, 1 / 10]))
    ndcg = [1.0, 0.5, (1 / L(8) + 1 / L(9)) / (1 + 1 / L(3)), 0.0, (1 / L(6) + 1 / L(10)) / (1 + 1 / L(3)),
            1 / L(11)]
    assert multi["ndcg@10"] == pytest.approx(np.mean(ndcg))
    assert multi["recall@100"] == 1.0 and multi["n"] == 6
    single = out["cliniq"]["single_patient"]
    # pairs: 0/100 (rank 1), 1/100 (3), 2/200 (1), 695/100 (5), 695/200 (3), 696/200 (4); patient 300 skipped
    assert single["overall"]["mrr"] == pytest.approx(np.mean([1, 1 / 3, 1, 1 / 5, 1 / 3, 1 / 4]))
    assert single["overall"]["map"] == pytest.approx(np.mean([1, 1 / 3, 1, 1 / 5, 1 / 3, 1 / 4]))
    assert single["overall"]["ndcg"] == pytest.approx(np.mean([1, 0.5, 1, 1 / L(6), 0.5, 1 / L(5)]))
    assert single["overall"]["n"] == 6 and single["abbreviation"] == {"mrr": 1.0, "ndcg": 1.0, "map": 1.0, "n": 2}
    assert single["disease/overall"]["n"] == 3
    # standard MRR@10 on the same ranking: the drug query at rank 14 scores 0
    assert out["standard"]["mrr@10"] == pytest.approx(np.mean([1, 1 / 3, 1 / 7, 0, 1 / 5, 1 / 10]))


def _write_rephrasings(path):
    rows = [{"code": "E11.9", "rephrasings": ["type 2 diabetes mellitus without complications",
                                              "essential primary hypertension"]},
            {"code": "I10", "description": "Essential (primary) hypertension", "rephrasings": ["hypertension", " "]}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_icd10_benchmark_on_a_rephrasings_file(tmp_path):
    import jiwer

    _write_rephrasings(tmp_path / "r.jsonl")
    queries, descriptions = load_rephrasings(tmp_path / "r.jsonl")
    assert [q.code for q in queries] == ["E119", "E119", "I10"]  # the blank rephrasing is skipped
    assert descriptions["E119"] == "Type 2 diabetes mellitus without complications"
    out = run_icd10_benchmark(ToyEncoder(256), queries, candidate_codes("file", descriptions))
    # the second E11.9 rephrasing is worded like I10 and retrieves it
    wrong = jiwer.cer(descriptions["E119"], descriptions["I10"])
    assert out == pytest.approx({"exact_match": 2 / 3, "category_match": 2 / 3, "cer": wrong / 3, "n_queries": 3,
                                 "n_candidates": 2})
    with pytest.raises(UserInputError, match="not among the candidates"):
        run_icd10_benchmark(ToyEncoder(), [ICD10Query("A000", "cholera")], {"E119": "x"})


def test_inclusion_term_queries_are_billable_codes_with_other_wordings():
    import simple_icd_10_cm as icd

    queries, descriptions = inclusion_term_queries(5, seed=3)
    assert len(descriptions) == 5 and queries
    for q in queries:
        assert icd.is_leaf(q.code) and q.text in icd.get_inclusion_term(q.code)
        assert q.text.lower() != descriptions[q.code].lower()
    assert inclusion_term_queries(5, seed=3) == (queries, descriptions)  # seeded


def test_bad_icd_code_is_a_user_error(tmp_path):
    (tmp_path / "r.jsonl").write_text('{"code": "XYZ.9", "rephrasings": ["a"]}\n')
    with pytest.raises(UserInputError, match="XYZ.9"):
        load_rephrasings(tmp_path / "r.jsonl")


@pytest.fixture
def cli(monkeypatch):
    from emerge.cli import main, retriever_eval

    monkeypatch.setattr(retriever_eval, "load_encoder", lambda model: ToyEncoder(256))
    return main


def test_cli_eval_prints_dense_and_baselines(cli, capsys):
    cli(["retriever", "eval", "--model", "toy", "--data", str(FIXTURES / "cliniq")])
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "cliniq" and {"dense", "bm25", "bm25+dense_rrf"} <= set(out)
    # phytonadione / folic acid occur verbatim in one chunk each: BM25 ranks them first
    assert out["bm25"]["cliniq"]["multi_patient"]["drug"]["mrr"] == 1.0
    assert out["dense"]["n_queries"] == 6


def test_cli_index_then_search(cli, capsys, tmp_path, monkeypatch):
    import polars as pl

    from drehr import BiEncoder
    from drehr.index import ChunkIndex
    from drehr.model.testing import build_tiny_bert
    from emerge.cli import retriever_eval

    encoder = BiEncoder.from_pretrained(build_tiny_bert(tmp_path / "tiny"))  # a retriever saves its encoder
    monkeypatch.setattr(retriever_eval, "load_encoder", lambda model: encoder)
    chunks = tmp_path / "chunks.parquet"
    pl.DataFrame({"chunk_id": ["1_0", "1_1", "2_0"], "patient_id": ["1", "1", "2"],
                  "text": ["heart failure", "knee pain", "phenytoin"]}).write_parquet(chunks)
    cli(["retriever", "index", "--model", "tiny", "--chunks", str(chunks), "--out", str(tmp_path / "idx")])
    summary = json.loads(capsys.readouterr().out)
    assert summary["chunks"] == 3 and summary["structure"] == "flat"
    index = ChunkIndex.load(tmp_path / "idx" / "index")  # the low-level index inside the retriever folder
    expected = index.search(["heart failure"], k=2, encoder=encoder, patients=["1"]).chunk_ids[0]
    cli(["retriever", "search", "--retriever", str(tmp_path / "idx"), "--query", "heart failure", "--patient", "1"])
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
    from drehr.index import ChunkIndex, Encoder
    from emerge.cli.retriever_eval import load_encoder

    encoder = load_encoder("default")
    assert isinstance(encoder, Encoder)
    index = ChunkIndex.for_encoder(encoder)
    index.add(["1_0", "1_1", "2_0"], ["1", "1", "2"],
              encoder.encode(["congestive heart failure", "fractured knee", "seizure on phenytoin"]))
    assert index.search_patient("1", "cardiac failure", encoder=encoder).chunk_ids[0][0] == "1_0"
    index.save(tmp_path / "idx")
    assert ChunkIndex.load(tmp_path / "idx").search(["anticonvulsant"], k=1, encoder=encoder).chunk_ids == [["2_0"]]
