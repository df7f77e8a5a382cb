import pytest

from emerge.rag.note_entities import extract_note_entities, literal_count, sample_pieces, split_pieces
from foundation.errors import UserInputError


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
