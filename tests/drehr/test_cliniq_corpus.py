"""CliniQ's corpus builder (drehr/evaluation/cliniq_corpus.py) on hand-worked cases, and on a small
NOTEEVENTS in MIMIC-III's layout whose expected output was written by CliniQ's own preprocess.py
(fixtures/cliniq/mimic3/README.md). The `emerge retriever build-cliniq` command is tested with the other
command-line tests (tests/emerge/cli/test_retriever_eval_cli.py)."""

from __future__ import annotations

import gzip
import json
import logging
import shutil
from pathlib import Path

import pytest

from drehr.chunking import split_words
from drehr.evaluation import read_cliniq
from drehr.evaluation.cliniq_corpus import (
    build_cliniq_corpus,
    clean_cliniq_text,
    read_hadm_ids,
    select_discharge_summaries,
    split_cliniq_text,
)
from foundation.errors import UserInputError

MIMIC3 = Path(__file__).parent / "fixtures" / "cliniq" / "mimic3"
NOTEEVENTS = MIMIC3 / "NOTEEVENTS_sample.csv"
IDS = MIMIC3 / "test_hadm_ids.txt"
HEADER = "ROW_ID,SUBJECT_ID,HADM_ID,CHARTDATE,CHARTTIME,STORETIME,CATEGORY,DESCRIPTION,CGID,ISERROR,TEXT\n"


def words(first: int, last: int) -> str:
    return " ".join(f"w{i}" for i in range(first, last + 1))


# ---------------------------------------------------------------------------------------------- cleaning
@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # tags removed with nothing in their place; "\n" -> " "; runs of spaces -> one
        (
            "Admission Date:  [**2151-7-16**]       Discharge Date:   [**2151-8-4**]\n\nService: MED",
            "Admission Date: Discharge Date: Service: MED",
        ),
        ("Dr.[**Last Name**]'s note", "Dr.'s note"),  # glued: no space is put in (drehr's clean_note does)
        # a tag broken by a line break is kept (no DOTALL); a later tag on the same line still goes
        ("seen by [**First Name8\n**] at [**Hospital1 18**] today", "seen by [**First Name8 **] at today"),
        ("[ a [ b ] c ]", "c ]"),  # from the first "[" to the first "]"
        ("x [ y ] z ]", "x z ]"),
        ("BP\t120/80  HR\t\t88  \t", "BP\t120/80 HR\t\t88"),  # tabs stay; only spaces collapse; strip
        ("a\r\nb", "a\r b"),  # only "\n" is replaced
        ("[**only a tag**]", ""),
    ],
)
def test_clean_cliniq_text_hand_worked(raw, clean):
    assert clean_cliniq_text(raw) == clean


# ---------------------------------------------------------------------------------------------- chunking
@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (5, [(1, 5)]),
        (100, [(1, 100)]),
        (101, [(1, 100), (91, 101)]),
        (110, [(1, 100), (91, 110)]),
        (190, [(1, 100), (91, 190)]),
        (191, [(1, 100), (91, 190), (181, 191)]),
    ],
)
def test_split_cliniq_text_word_ranges(n, expected):
    assert split_cliniq_text(words(1, n)) == [words(a, b) for a, b in expected]


def test_split_counts_words_inside_tab_joined_pieces():
    # the splitter cuts at " " only and counts words with str.split(): "x\ty" is one piece of 2 words, so
    # w1..w99 fill 99 and the piece (101 > 100) opens the next chunk, which keeps the last 10 words
    text = words(1, 99) + " x\ty"
    assert split_cliniq_text(text) == [words(1, 99), words(90, 99) + " x\ty"]
    assert split_words(text) == [words(1, 99) + " x", words(91, 99) + " x y"]  # drehr.chunking differs


def test_split_lone_tabs_count_zero_words_and_chunks_are_stripped():
    # " \t " is a piece of 0 words: it joins the full chunk, is stripped from its end, and is kept
    # inside the next chunk, which starts with the overlap w91..w100
    assert split_cliniq_text(words(1, 100) + " \t " + "w101") == [words(1, 100), words(91, 100) + " \t w101"]
    # a 0-word piece left at the front after the overlap is popped is stripped from the chunk's start
    text = words(1, 90) + " \t " + words(91, 101)
    assert split_cliniq_text(text) == [words(1, 90) + " \t " + words(91, 100), words(91, 101)]
    assert split_cliniq_text("") == [] and split_cliniq_text(" \t ") == []


# --------------------------------------------------------------------------------- NOTEEVENTS -> corpus
def test_build_matches_cliniq_preprocess_byte_for_byte(tmp_path, caplog):
    out = tmp_path / "corpus.jsonl"
    with caplog.at_level(logging.WARNING):
        summary = build_cliniq_corpus(NOTEEVENTS, IDS, out)
    assert out.read_bytes() == (MIMIC3 / "corpus_by_cliniq_preprocess.jsonl").read_bytes()
    assert summary["hadm_ids"] == 9 and summary["notes"] == 7 and summary["chunks"] == 15
    assert summary["later_discharge_summaries_skipped"] == 1  # 100007's Addendum
    assert summary["no_discharge_summary"] == ["100008"]  # a Radiology report only
    assert summary["not_in_noteevents"] == ["100009"]
    assert "100008" in caplog.text and "100009" in caplog.text

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [r["_id"] for r in rows]
    # NOTEEVENTS order (100005 is its first row), not the ids file's (which lists 100009 first)
    assert ids[:5] == ["100005_0", "100005_1", "100005_2", "100002_0", "100001_0"]
    assert [i for i in ids if i.startswith("100007")] == [f"100007_{i}" for i in range(5)]
    assert not any(i.startswith(("100008", "100009", "100010")) for i in ids)
    text = {r["_id"]: r["text"] for r in rows}
    assert text["100005_2"] == words(181, 191) and text["100004_1"] == words(91, 110)
    assert text["100003_1"] == words(91, 101) and text["100002_0"] == words(1, 100)
    assert text["100001_0"] == 'Name: Unit No: Service: "MEDICINE"'  # 5 words, quotes from the CSV
    # 100006: "Seen by Dr. [**First Name4 (NamePattern1) **] [**Last Name (NamePattern1)\n**] on
    # [**2151-7-20**].\nBP\t120/80  HR\t\t88\nPlan: [ok] follow-up [**Hospital1\n18**]." The first tag and
    # [ok] and the date go; the two tags broken by "\n" stay, the "\n" becoming spaces; tabs stay.
    assert text["100006_0"] == (
        "Seen by Dr. [**Last Name (NamePattern1) **] on . BP\t120/80 HR\t\t88 "
        "Plan: follow-up [**Hospital1 18**]."
    )
    assert not any("folic acid" in t for t in text.values())  # the second discharge summary is skipped

    data = read_cliniq(_cliniq_folder(tmp_path, out))  # the evaluation reader takes the builder's file
    assert data.corpus.height == 15 and set(data.corpus["patient_id"]) == {
        "100001",
        "100002",
        "100003",
        "100004",
        "100005",
        "100006",
        "100007",
    }


def _cliniq_folder(tmp_path: Path, corpus: Path) -> Path:
    folder = tmp_path / "cliniq"
    folder.mkdir()
    for path in MIMIC3.glob("q*_*"):
        shutil.copy(path, folder / path.name)
    shutil.copy(corpus, folder / "corpus.jsonl")
    return folder


def test_build_reads_gzip_and_replaces_only_its_own_file(tmp_path):
    packed = tmp_path / "NOTEEVENTS.csv.gz"
    packed.write_bytes(gzip.compress(NOTEEVENTS.read_bytes()))
    out = tmp_path / "corpus.jsonl"
    build_cliniq_corpus(packed, IDS, out)
    assert out.read_bytes() == (MIMIC3 / "corpus_by_cliniq_preprocess.jsonl").read_bytes()
    build_cliniq_corpus(packed, IDS, out)  # ours: replaced
    mine = tmp_path / "mine.jsonl"
    mine.write_text("keep me\n")
    with pytest.raises(UserInputError, match="refusing to overwrite"):
        build_cliniq_corpus(packed, IDS, mine)
    assert mine.read_text() == "keep me\n"


def test_empty_or_missing_text_reads_as_pandas_nan(tmp_path):
    # CliniQ reads with pandas: an empty TEXT (or "NA") is NaN, and .astype(str) makes it "nan" (pandas 2)
    path = tmp_path / "NOTEEVENTS.csv"
    path.write_text(
        HEADER + '1,1,7,2150-01-01,,,"Discharge summary","Report",,,""\n'
        '2,1,8,2150-01-01,,,"Discharge summary","Report",,,"NA"\n'
        '3,1,9,2150-01-01,,,"Discharge summary","Report",,,"[**x**]"\n'
    )
    notes, _ = select_discharge_summaries(path, ["7", "8", "9"])
    assert notes == [("7", "nan"), ("8", "nan"), ("9", "[**x**]")]
    out = tmp_path / "corpus.jsonl"
    build_cliniq_corpus(path, _ids(tmp_path, "7\n8\n9\n"), out)
    assert out.read_text() == '{"_id": "7_0", "text": "nan"}\n{"_id": "8_0", "text": "nan"}\n'  # 9: no chunk


def _ids(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text(text)
    return path


def test_bad_inputs_are_refused_with_the_fix(tmp_path):
    assert read_hadm_ids(_ids(tmp_path, " 12 \r\n\n12\n34\n")) == ["12", "34"]
    with pytest.raises(UserInputError, match="lists no HADM_ID"):
        read_hadm_ids(_ids(tmp_path, "\n\n"))
    mimic_iv = tmp_path / "discharge.csv"
    mimic_iv.write_text("note_id,subject_id,hadm_id,note_type,note_seq,charttime,storetime,text\n")
    with pytest.raises(UserInputError, match="MIMIC-III's NOTEEVENTS"):
        build_cliniq_corpus(mimic_iv, IDS, tmp_path / "corpus.jsonl")
    with pytest.raises(UserInputError, match="not found"):
        build_cliniq_corpus(tmp_path / "absent.csv", IDS, tmp_path / "corpus.jsonl")
    assert not (tmp_path / "corpus.jsonl").exists()


def test_lower_case_headers_as_in_the_public_mimic_iii_demo_give_the_same_corpus(tmp_path):
    raw = NOTEEVENTS.read_text(encoding="utf-8")
    header, rest = raw.split("\n", 1)
    lower = tmp_path / "noteevents.csv"
    lower.write_text(header.lower() + "\n" + rest, encoding="utf-8")
    build_cliniq_corpus(lower, IDS, tmp_path / "corpus.jsonl")
    assert (tmp_path / "corpus.jsonl").read_bytes() == (
        MIMIC3 / "corpus_by_cliniq_preprocess.jsonl"
    ).read_bytes()
