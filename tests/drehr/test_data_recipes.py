import json

import pytest

from drehr.chunking import Chunk
from drehr.data import (
    ExampleWriter,
    PromptUnit,
    TrainingExample,
    concept_label,
    parse_entity_list,
    parse_questions,
    qa_units,
    read_examples,
    run_llm_recipe,
    split_sections,
    stage2_units,
)
from foundation.errors import UserInputError


def test_concept_label_is_stable_and_distinct():
    assert concept_label("HP:0000822") == concept_label("HP:0000822")
    assert concept_label("HP:0000822") != concept_label("HP:0002615")
    assert 0 <= concept_label("x") < 2**63


def test_parse_entity_list_strips_bullets_explanations_na_and_duplicates():
    answer = (
        "Here are the diagnoses:\n"
        "- Hypertension (mentioned as HTN)\n"
        "* Acute kidney injury: creatinine rose\n"
        "2. Congestive heart failure - inferred from edema\n"
        "- hypertension\n"
        "- NA\n"
    )
    assert parse_entity_list(answer) == ["Hypertension", "Acute kidney injury", "Congestive heart failure"]


def test_parse_entity_list_plain_lines_and_none():
    assert parse_entity_list("Sepsis\nPneumonia\n") == ["Sepsis", "Pneumonia"]
    assert parse_entity_list("NA") == []
    assert parse_entity_list("") == []


def test_stage2_units_one_prompt_per_type():
    chunk = Chunk("n1_0", "n1", "p1", 0, "Pt with HTN and CHF exacerbation, started furosemide.")
    (unit,) = list(stage2_units([chunk]))
    assert unit.id == "n1_0" and len(unit.prompts) == 3
    assert (
        "diagnoses" in unit.prompts[0]
        and "procedures" in unit.prompts[1]
        and "prescriptions" in unit.prompts[2]
    )
    assert all(chunk.text in p for p in unit.prompts)


def test_split_sections_and_questions():
    note = (
        "Name: ___\nChief Complaint: shortness of breath\n"
        "History of Present Illness: " + "the patient reports worsening dyspnea " * 6 + "\n"
        "Brief Hospital Course: " + "diuresed with furosemide and improved " * 6
    )
    sections = split_sections(note, min_words=10)
    assert [t for t, _ in sections] == ["History of Present Illness", "Brief Hospital Course"]
    assert sections[0][1].startswith("the patient reports")
    units = list(qa_units([("n9", note)], min_words=10))
    assert [u.id for u in units] == ["n9_s0", "n9_s1"]
    assert parse_questions(
        "1. Why was the patient diuresed?\n- What?\nNot a question\nQ2: Why was the patient diuresed?"
    ) == ["Why was the patient diuresed?"]


def test_examples_roundtrip_and_bad_line(tmp_path):
    path = tmp_path / "ex.jsonl"
    with ExampleWriter(path) as w:
        w.write([TrainingExample("chunk text", ("htn", "hypertension"), (1, 1), id="a")])
    (ex,) = list(read_examples(path))
    assert (ex.id, ex.positives, ex.labels) == ("a", ("htn", "hypertension"), (1, 1))
    path.write_text('{"anchor": "x"}\n')
    with pytest.raises(UserInputError, match="positives"):
        list(read_examples(path))
    with pytest.raises(UserInputError, match="labels"):
        TrainingExample("t", ("a", "b"), (1,), id="b")


def test_writer_cuts_half_written_line(tmp_path):
    path = tmp_path / "ex.jsonl"
    with ExampleWriter(path) as w:
        w.write([TrainingExample("t", ("x",), (1,), id="a")])
    with path.open("a") as fh:  # a kill in the middle of the next line
        fh.write('{"id": "b", "anch')
    assert [e.id for e in read_examples(path)] == ["a"]
    with ExampleWriter(path) as w:
        w.write([TrainingExample("t", ("y",), (2,), id="c")])
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == ["a", "c"]


def test_writer_keeps_a_whole_last_line_that_only_lacks_its_newline(tmp_path):
    """A kill between an example and its newline: the reader counts it as written, so the writer keeps it."""
    path = tmp_path / "ex.jsonl"
    with ExampleWriter(path) as w:
        w.write([TrainingExample("t", ("x",), (1,), id="a"), TrainingExample("t", ("z",), (3,), id="b")])
    path.write_bytes(path.read_bytes()[:-1])
    assert [e.id for e in read_examples(path)] == ["a", "b"]
    with ExampleWriter(path) as w:
        w.write([TrainingExample("t", ("y",), (2,), id="c")])
    assert [e.id for e in read_examples(path)] == ["a", "b", "c"]


def test_examples_without_labels_or_id(tmp_path):
    path = tmp_path / "ex.jsonl"
    with ExampleWriter(path) as w:
        w.write([TrainingExample("t", ("x", "y"), id="a")])
        with pytest.raises(UserInputError, match="no id"):
            w.write([TrainingExample("t", ("x",))])
    assert json.loads(path.read_text()) == {"id": "a", "anchor": "t", "positives": ["x", "y"]}  # no "labels"
    path.write_text('{"id": "a", "anchor": "t", "positives": ["x"], "labels": []}\n')  # how they were written
    assert next(read_examples(path)).labels is None


def test_writer_never_appends_to_a_file_it_did_not_create(tmp_path):
    theirs = tmp_path / "mine.jsonl"
    theirs.write_text('{"anchor": "my own data", "positives": ["x"]}\n')
    with pytest.raises(UserInputError, match="not written by emerge"):
        ExampleWriter(theirs)
    assert theirs.read_text() == '{"anchor": "my own data", "positives": ["x"]}\n'


def test_run_llm_recipe_resumes_after_a_crash_without_repeating_work(tmp_path):
    units = [PromptUnit(f"u{i}", f"anchor {i}", (f"p{i}a", f"p{i}b")) for i in range(10)]
    calls: list[str] = []

    class Crash(Exception):
        pass

    def flaky(prompts):
        if len(calls) >= 4:  # dies on the second batch (after 2 units x 2 prompts)
            raise Crash
        calls.extend(prompts)
        return [f"- entity {p}\n- shared" for p in prompts]

    out = tmp_path / "stage2.jsonl"
    with pytest.raises(Crash):
        run_llm_recipe(units, flaky, parse_entity_list, out, batch_size=2)
    assert [e.id for e in read_examples(out)] == ["u0", "u1"]

    def steady(prompts):
        calls.extend(prompts)
        return [f"- entity {p}\n- shared" for p in prompts]

    counts = run_llm_recipe(units, steady, parse_entity_list, out, batch_size=2)
    assert counts == {"written": 8, "skipped": 2, "empty": 0}
    assert sorted(calls) == sorted(p for u in units for p in u.prompts)  # every prompt exactly once
    examples = list(read_examples(out))
    assert [e.id for e in examples] == [f"u{i}" for i in range(10)]
    # the shared entity gets the same label in every example (a false negative the loss can mask)
    shared = {e.labels[e.positives.index("shared")] for e in examples}
    assert shared == {concept_label("shared")}
