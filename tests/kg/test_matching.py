from __future__ import annotations

import pytest

from foundation.errors import UserInputError
from kg.matching import TermMatch, TermMatcher

FORMS = {
    "hypertension": ["HP:1"],
    "pulmonary hypertension": ["HP:2"],
    "HTN": ["HP:1", "I10"],
    "kidney": ["K"],
    "kidney failure": ["KF"],
    "a": ["A"],
}


def test_longest_match_at_word_boundaries():
    m = TermMatcher(FORMS)
    text = "Pt with Pulmonary Hypertension, HTN; prehypertension and kidney failure (htn)."
    got = m.match(text)
    assert got == [
        TermMatch(("HP:2",), "pulmonary hypertension", 8, 30),
        TermMatch(("HP:1", "I10"), "htn", 32, 35),
        TermMatch(("KF",), "kidney failure", 57, 71),
        TermMatch(("HP:1", "I10"), "htn", 73, 76),
    ]
    for span in got:
        assert text.lower()[span.start : span.end] == span.surface
    assert m.terms(text) == ["htn", "kidney failure", "pulmonary hypertension"]


def test_no_match_inside_words_and_single_letters():
    m = TermMatcher(FORMS)
    assert m.match("prehypertensionx") == []
    assert [s.surface for s in m.match("a kidney")] == ["a", "kidney"]
    assert TermMatcher(FORMS, min_length=2).match("a kidney")[0].surface == "kidney"


def test_from_graph(tiny_kg):
    m = TermMatcher(tiny_kg)
    assert [(s.surface, s.node_ids) for s in m.match("Low potassium with CKD")] == [
        ("low potassium", ("E87.6",)),
        ("ckd", ("N18.9",)),
    ]


def test_empty_forms_rejected():
    with pytest.raises(UserInputError, match="no surface forms"):
        TermMatcher({})
