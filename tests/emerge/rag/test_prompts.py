import pytest

from emerge.rag.prompts import DiseaseKnowledge, build_summary_prompt
from foundation.errors import UserInputError


def words(text):
    return len(text.split())


KNOWLEDGE = [
    DiseaseKnowledge(
        "sepsis",
        "[disease name]sepsis [definition]" + "infection " * 100,
        ("(sepsis, associated with, fever)", "(sepsis, parent-child, septic shock)"),
    ),
    DiseaseKnowledge(
        "pneumonia",
        "[disease name]pneumonia [definition]lung infection",
        ("(pneumonia, associated with, cough)",),
    ),
]


def test_sections_and_task_goal():
    p = build_summary_prompt("mortality", ["heart rate too high"], ["sepsis", "pneumonia"], KNOWLEDGE)
    assert "experienced clinical professor" in p.text and "in-hospital mortality" in p.text
    for section in (
        "Potential abnormal features:",
        "Potential diseases:",
        "Diseases definition and description:",
        "Disease relationships:",
    ):
        assert section in p.text
    assert "(pneumonia, associated with, cough)" in p.text
    r = build_summary_prompt("readmission", [], [], [])
    assert "30 days" in r.text and "none recorded" in r.text


def test_trimming_order_triples_then_documents_then_diseases():
    full = build_summary_prompt("generic", ["heart rate too high"], ["sepsis", "pneumonia"], KNOWLEDGE)
    budget = words(full.text) - 5  # just over budget: only triples need to go
    p = build_summary_prompt(
        "generic", ["heart rate too high"], ["sepsis", "pneumonia"], KNOWLEDGE, words, budget
    )
    assert p.fits and p.tokens <= budget
    assert p.trimmed["triples"] >= 1 and p.trimmed["documents"] == 0 and p.trimmed["diseases"] == 0
    assert "(pneumonia, associated with, cough)" not in p.text  # last disease's triples go first

    tight = build_summary_prompt(
        "generic", ["heart rate too high"], ["sepsis", "pneumonia"], KNOWLEDGE, words, 150
    )
    assert tight.fits and tight.trimmed["triples"] == 3 and tight.trimmed["documents_shortened"] == 1
    assert "heart rate too high" in tight.text


def test_prompt_that_cannot_fit_is_flagged_and_bad_args_raise():
    p = build_summary_prompt("generic", ["a"], ["b"], KNOWLEDGE, words, 5)
    assert not p.fits and p.trimmed["features"] == 1 and p.trimmed["diseases"] == 1
    with pytest.raises(UserInputError, match="unknown task"):
        build_summary_prompt("los", [], [], [])
    with pytest.raises(UserInputError, match="both"):
        build_summary_prompt("generic", [], [], [], count_tokens=words)
