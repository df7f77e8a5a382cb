"""CliniQ metrics, RRF and ICD-10 metrics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drehr.evaluation import (
    average_precision,
    multi_patient_metrics,
    ndcg_cliniq,
    recall_at_k,
    reciprocal_rank,
    reciprocal_rank_fusion,
    single_patient_metrics,
)
from drehr.evaluation.cliniq_metrics import CliniQAccumulator
from drehr.evaluation.icd10 import icd10_metrics

L = math.log2


def test_reciprocal_rank_has_no_cutoff():
    assert reciprocal_rank([0, 0, 1, 0, 1]) == pytest.approx(1 / 3)
    assert reciprocal_rank([0] * 50 + [1]) == pytest.approx(1 / 51)
    assert reciprocal_rank([0, 0]) == 0.0


def test_ndcg_cliniq_uses_ideal_from_retrieved_top_k():
    # hits at ranks 1 and 3: DCG = 1 + 1/log2(4); ideal from the retrieved relevances [1, 1] sorted
    assert ndcg_cliniq([1, 0, 1, 0], 10) == pytest.approx((1 + 1 / L(4)) / (1 + 1 / L(3)))
    # one hit at rank 3 and many relevant beyond k: still 1/log2(4) / 1 (standard nDCG would be lower)
    assert ndcg_cliniq([0, 0, 1] + [0] * 7 + [1] * 5, 10) == pytest.approx(0.5)
    assert ndcg_cliniq([0] * 10 + [1], 10) == 0.0


def test_average_precision_and_recall_divide_by_all_relevant():
    assert average_precision([1, 0, 1, 0], 3) == pytest.approx((1 / 1 + 2 / 3) / 3)
    assert recall_at_k([1, 0, 1, 1], 2, 4) == pytest.approx(1 / 4)
    m = multi_patient_metrics(np.array([0, 1] + [0] * 100 + [1]), 2)
    assert m == pytest.approx({"mrr": 0.5, "ndcg@10": (1 / L(3)) / 1.0, "recall@100": 0.5})


def test_single_patient_overall_and_per_type():
    out = single_patient_metrics(["", "string", "", "synonym", ""])
    assert out["overall"] == pytest.approx(
        {"mrr": 0.5, "ndcg": (1 / L(3) + 1 / L(5)) / (1 + 1 / L(3)), "map": (1 / 2 + 2 / 4) / 2}
    )
    # string: the synonym chunk is dropped -> ["", string, "", ""]
    assert out["string"] == pytest.approx({"mrr": 0.5, "ndcg": 1 / L(3), "map": 0.5})
    # synonym: the string chunk is dropped -> ["", "", synonym, ""]
    assert out["synonym"] == pytest.approx({"mrr": 1 / 3, "ndcg": 1 / L(4), "map": 1 / 3})
    assert set(out) == {"overall", "string", "synonym"}


def test_single_patient_skips_small_and_all_relevant_patients():
    assert single_patient_metrics(["string", "", "", ""]) is None  # 4 chunks < 5
    assert single_patient_metrics(["string"] * 3 + ["synonym"] * 3) is None  # all relevant


def test_accumulator_pools_pairs_and_query_sets():
    acc = CliniQAccumulator()
    acc.add_single("disease", {"overall": {"mrr": 1.0}, "string": {"mrr": 1.0}})
    acc.add_single("drug", {"overall": {"mrr": 0.5}})
    acc.add_multi("drug", {"mrr": 0.25})
    summary = acc.summary()
    assert summary["single_patient"]["overall"] == {"mrr": 0.75, "n": 2}
    assert summary["single_patient"]["string"] == {"mrr": 1.0, "n": 1}
    assert summary["single_patient"]["drug/overall"] == {"mrr": 0.5, "n": 1}
    assert summary["multi_patient"]["all"] == summary["multi_patient"]["drug"] == {"mrr": 0.25, "n": 1}


def test_reciprocal_rank_fusion_hand_computed():
    a = np.array([[0.9, 0.1, 0.5]])  # ranks 1, 3, 2
    b = np.array([[0.1, 0.9, 0.5]])  # ranks 3, 1, 2
    fused = reciprocal_rank_fusion([a, b], k=60)
    assert fused[0] == pytest.approx([1 / 61 + 1 / 63, 1 / 63 + 1 / 61, 2 / 62])


def test_icd10_metrics():
    out = icd10_metrics(["E119", "E1165"], ["E119", "E110"], ["abc", "abcd"], ["abc", "abxd"])
    assert out == pytest.approx(
        {"exact_match": 0.5, "category_match": 1.0, "cer": (0 + 1 / 4) / 2, "n_queries": 2}
    )
