"""Note concepts scored against the synthetic ground truth (`emerge.rag.concept_truth`), on hand-worked
cases, and the accepted nodes of the synthetic conditions on the starter KG."""

from __future__ import annotations

import polars as pl
import pytest

from emerge.rag.concept_truth import linked_note_concepts, score_concepts, truth_pairs


class _Finder:
    """`kg.find` of a KG whose only surface forms are `terms`."""

    def __init__(self, terms: set[str]) -> None:
        self.terms = terms

    def find(self, form: str) -> list[str]:
        return ["x"] if form.lower() in self.terms else []


TRUTH = {
    1: {"a": {"types": {"string"}, "unseen": False}, "b": {"types": {"abbreviation"}, "unseen": True}},
    2: {"a": {"types": {"synonym", "string"}, "unseen": False}},
    3: {},  # a stay with notes but no mention: neither recall nor precision
}
ACCEPTED = {"a": {"n1", "n2"}, "b": {"n3"}}


def test_recall_and_precision_are_per_stay_means_and_micro_pools_them():
    preds = {1: {"n1": 0.9, "x": 0.95}, 2: {"n4": 0.9}, 3: {}}
    r = score_concepts(preds, TRUTH, ACCEPTED, [1, 2, 3])
    # stay 1: a found, b missed -> recall 1/2; n1 right, x wrong -> precision 1/2
    # stay 2: a missed -> recall 0; n4 wrong -> precision 0
    assert r["stays"] == 3
    assert r["recall"] == pytest.approx(0.25) and r["precision"] == pytest.approx(0.25)
    assert r["micro_r"] == pytest.approx(1 / 3) and r["micro_p"] == pytest.approx(1 / 3)
    assert r["f1"] == pytest.approx(1 / 3)
    assert r["per_stay_nodes"] == pytest.approx(3 / 3)
    assert r["wrong"] == {"x": 1, "n4": 1}
    # by match type: only-string a (stay 1) found; only-abbreviation b missed; a in stay 2 has two types
    assert r["by"]["only string"] == (1.0, 1)
    assert r["by"]["only abbreviation"] == (0.0, 1)
    assert r["by"]["unseen surface"] == (0.0, 1)
    assert r["by"]["seen surface"] == (0.5, 2)


def test_a_threshold_drops_low_scores_before_scoring():
    preds = {1: {"n1": 0.9, "n3": 0.99}}
    assert score_concepts(preds, TRUTH, ACCEPTED, [1])["recall"] == pytest.approx(1.0)
    high = score_concepts(preds, TRUTH, ACCEPTED, [1], threshold=0.95)
    assert high["recall"] == pytest.approx(0.5) and high["precision"] == pytest.approx(1.0)


def test_truth_pairs_mark_a_condition_unseen_only_when_no_mention_is_a_kg_term():
    mentions = pl.DataFrame(
        {
            "stay_id": [1, 1, 1, 2],
            "condition": ["heart failure", "heart failure", "diabetes", "diabetes"],
            "surface_form": ["CHF", "heart failure", "sugar", "T2DM"],
            "match_type": ["abbreviation", "string", "synonym", "abbreviation"],
        }
    )
    truth = truth_pairs(mentions, _Finder({"heart failure"}))
    assert truth[1]["heart failure"] == {"types": {"abbreviation", "string"}, "unseen": False}
    assert truth[1]["diabetes"] == {"types": {"synonym"}, "unseen": True}
    assert truth[2]["diabetes"]["unseen"] is True


def test_linked_note_concepts_keep_note_rows_with_a_node_and_their_best_score():
    linked = pl.DataFrame(
        {
            "stay_id": [1, 1, 1, 1, 2],
            "source": ["notes", "notes", "timeseries", "notes", "notes"],
            "node_id": ["n1", "n1", "n9", None, "n2"],
            "score": [0.8, 0.9, 1.0, 0.99, None],
        }
    )
    assert linked_note_concepts(linked) == {1: {"n1": 0.9}, 2: {"n2": 1.0}}


def test_every_synthetic_condition_is_accepted_by_starter_kg_nodes_and_never_by_a_qualifier():
    from emerge.data.synth.conditions import CONDITIONS
    from emerge.rag.concept_truth import accepted_nodes
    from kg.starter import load_starter_kg

    kg = load_starter_kg()
    accepted = accepted_nodes(kg)
    assert set(accepted) == {c.name for c in CONDITIONS}
    qualifiers = kg.qualifier_ids()
    for c in CONDITIONS:
        assert accepted[c.name], c.name
        assert not accepted[c.name] & qualifiers
        for code in c.icd10:
            if code in kg:
                assert code in accepted[c.name]  # its own ICD-10-CM code counts
