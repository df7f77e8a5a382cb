import hashlib

import pytest

from emerge.llm.structured import parse_entities
from emerge.rag.note_entities import (
    NER_PROMPT,
    extract_note_entities,
    literal_count,
    ner_prompt,
    ner_prompts,
    sample_pieces,
    split_pieces,
)
from foundation.errors import UserInputError

# sha256 of `ner_prompt_tmpl` as Python reads it from yhzhu99/EMERGE rag/call_qwen1.5.py (commit c3a64a3)
EMERGE_NER_PROMPT_SHA256 = "ac4e025d60b934f26106a243eb0129aac4dfbc74c6311bfc9818f84a635de16d"


def test_the_ner_prompt_is_emerges_verbatim_with_its_example():
    assert hashlib.sha256(NER_PROMPT.encode("utf-8")).hexdigest() == EMERGE_NER_PROMPT_SHA256
    assert NER_PROMPT.startswith("\n[Instruction]\nYou are tasked with performing Named Entity Recognition")
    example = NER_PROMPT[NER_PROMPT.index("[Answer]") : NER_PROMPT.index("[Input]\n{input}")]
    assert parse_entities(example)[:2] == ["small bowel obstruction", "large bowel volvulus"]
    prompt = ner_prompt("pt with {braces} and sepsis")
    assert prompt == NER_PROMPT.replace("{input}", "pt with {braces} and sepsis")
    assert prompt.endswith("[Input]\npt with {braces} and sepsis\n\n[Answer]\n")
    assert ner_prompts(["a note", "  "]) == [ner_prompt("a note")]


def test_pieces_split_and_seeded_sampling():
    text = " ".join(f"w{i}" for i in range(10_500))
    pieces = split_pieces(text, 2000)
    assert len(pieces) == 6 and pieces[-1].split()[0] == "w10000"
    a, b = sample_pieces(pieces, 4, seed=1), sample_pieces(pieces, 4, seed=1)
    assert a == b and len(a) == 4
    assert [pieces.index(p) for p in a] == sorted(pieces.index(p) for p in a)  # note order kept


def test_literal_count_word_boundaries():
    text = "chf exacerbation. history of chf and chfx; acute  kidney injury"
    assert literal_count("CHF", text) == 2
    assert literal_count("acute kidney injury", text) == 1
    assert literal_count("sepsis", text) == 0


def test_llm_entities_filtered_deduplicated_and_ranked():
    note = "Sepsis from pneumonia. Pneumonia on CXR. sepsis improving. HTN."

    def ask(prompts):
        assert len(prompts) == 1 and note in prompts[0]
        return [["Pneumonia", "sepsis", "Sepsis", "myocardial infarction", "HTN"]]

    out = extract_note_entities([note], ask)
    assert out.entities == [("Pneumonia", 2), ("sepsis", 2), ("HTN", 1)]
    assert out.dropped_not_in_note == ["myocardial infarction"]
    assert out.pieces == 1 and out.unparsed_pieces == 0


def test_unparsed_answers_union_with_matcher_and_empty_notes():
    note = "Known COPD and AKI."
    out = extract_note_entities([note], lambda p: [None], mode="union", match=lambda t: ["copd", "aki"])
    assert out.unparsed_pieces == 1
    assert sorted(e for e, _ in out.entities) == ["aki", "copd"]
    assert extract_note_entities([], lambda p: [[]]).entities == []
    with pytest.raises(UserInputError, match="term matcher"):
        extract_note_entities([note], None, mode="matcher")
