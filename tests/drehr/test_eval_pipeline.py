"""Readers (BEIR, CliniQ), the evaluation runner on hand-computed rankings, and ICD-10. The `retriever
eval | index | search` commands are tested with the other command-line tests
(test_retriever_eval_cli.py)."""

from __future__ import annotations

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
from tests.helpers.toy_encoder import ToyEncoder

FIXTURES = Path(__file__).parent / "fixtures"
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
    ndcg = [
        1.0,
        0.5,
        (1 / L(8) + 1 / L(9)) / (1 + 1 / L(3)),
        0.0,
        (1 / L(6) + 1 / L(10)) / (1 + 1 / L(3)),
        1 / L(11),
    ]
    assert multi["ndcg@10"] == pytest.approx(np.mean(ndcg))
    assert multi["recall@100"] == 1.0 and multi["n"] == 6
    single = out["cliniq"]["single_patient"]
    # pairs: 0/100 (rank 1), 1/100 (3), 2/200 (1), 695/100 (5), 695/200 (3), 696/200 (4); patient 300 skipped
    assert single["overall"]["mrr"] == pytest.approx(np.mean([1, 1 / 3, 1, 1 / 5, 1 / 3, 1 / 4]))
    assert single["overall"]["map"] == pytest.approx(np.mean([1, 1 / 3, 1, 1 / 5, 1 / 3, 1 / 4]))
    assert single["overall"]["ndcg"] == pytest.approx(np.mean([1, 0.5, 1, 1 / L(6), 0.5, 1 / L(5)]))
    assert single["overall"]["n"] == 6 and single["abbreviation"] == {
        "mrr": 1.0,
        "ndcg": 1.0,
        "map": 1.0,
        "n": 2,
    }
    assert single["disease/overall"]["n"] == 3
    # standard MRR@10 on the same ranking: the drug query at rank 14 scores 0
    assert out["standard"]["mrr@10"] == pytest.approx(np.mean([1, 1 / 3, 1 / 7, 0, 1 / 5, 1 / 10]))


def _write_rephrasings(path):
    rows = [
        {
            "code": "E11.9",
            "rephrasings": [
                "type 2 diabetes mellitus without complications",
                "essential primary hypertension",
            ],
        },
        {
            "code": "I10",
            "description": "Essential (primary) hypertension",
            "rephrasings": ["hypertension", " "],
        },
    ]
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
    assert out == pytest.approx(
        {"exact_match": 2 / 3, "category_match": 2 / 3, "cer": wrong / 3, "n_queries": 3, "n_candidates": 2}
    )
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
