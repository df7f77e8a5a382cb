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


EVIDENCE = [
    DiseaseKnowledge(
        "sepsis", "[disease name]sepsis", (), ("pt septic on pressors " + "word " * 40, "febrile")
    ),
    DiseaseKnowledge("pneumonia", "[disease name]pneumonia", (), ("RLL consolidation on CXR",)),
]


def test_without_evidence_the_prompt_is_the_four_section_one():
    plain = build_summary_prompt("mortality", ["a"], ["sepsis"], [DiseaseKnowledge("sepsis", "doc")])
    assert "Evidence from the patient's notes" not in plain.text and "Excerpts" not in plain.text
    assert plain.trimmed["evidence"] == 0


def test_evidence_section_quotes_snippets_per_disease_and_the_instruction_lists_it():
    p = build_summary_prompt("mortality", [], ["sepsis", "pneumonia"], EVIDENCE)
    assert "- Excerpts of the patient's own notes where these diseases were found" in p.text
    section = p.text.split("Evidence from the patient's notes:\n")[1]
    assert section.splitlines()[1] == 'sepsis: "febrile"'
    assert section.splitlines()[2] == 'pneumonia: "RLL consolidation on CXR"'


def test_evidence_is_trimmed_first_shortened_then_dropped_last_disease_first():
    full = build_summary_prompt("generic", [], ["sepsis", "pneumonia"], EVIDENCE)
    # a budget just under the full prompt: shortening the 45-word snippet to 25 words is enough
    p = build_summary_prompt("generic", [], ["sepsis", "pneumonia"], EVIDENCE, words, words(full.text) - 5)
    assert p.fits and p.trimmed["evidence_shortened"] == 1 and p.trimmed["evidence"] == 0
    assert 'sepsis: "pt septic on pressors' in p.text and ' ..."' in p.text
    # tighter: snippets are dropped, the last disease's first; documents and diseases untouched
    budget = words(full.text) - 45
    q = build_summary_prompt("generic", [], ["sepsis", "pneumonia"], EVIDENCE, words, budget)
    assert q.fits and q.trimmed["evidence"] >= 1 and q.trimmed["documents"] == 0
    assert "RLL consolidation" not in q.text and "[disease name]pneumonia" in q.text
