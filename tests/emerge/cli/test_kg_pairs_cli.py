"""`emerge retriever build-kg-pairs` on a tiny saved KG: the pairs and held-out files, the synthetic cohort's
vocabulary kept out, and bad input (exit status 2, a message naming the value and the fix, nothing of the
user's changed). The library under it is tested in tests/drehr/test_kg_pairs.py."""

from __future__ import annotations

import json

import pytest

from emerge.cli import main
from emerge.cli.retriever_data import synthetic_note_vocabulary
from foundation.terms import normalize_term
from tests.helpers.kg import ward_kg

NO_ICD10 = ["--exclude-icd10-eval", "0"]  # the ICD-10-CM benchmark's codes are not in the ward KG


@pytest.fixture
def kg_dir(tmp_path):
    return ward_kg().save(tmp_path / "kg")


def _run(capsys, *args: str) -> dict:
    main(["retriever", "build-kg-pairs", *args])  # returns on success; an error would exit
    return json.loads(capsys.readouterr().out)


def _fail(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["retriever", "build-kg-pairs", *args])
    _, err = capsys.readouterr()
    assert exc.value.code == 2, err
    assert "Traceback" not in err
    return err


def _terms(path) -> set[str]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {normalize_term(t) for r in rows for t in (r["anchor"], *r["positives"])}


def test_writes_pairs_and_held_out_queries(tmp_path, kg_dir, capsys):
    out = tmp_path / "pairs.jsonl"
    args = ["--kg", str(kg_dir), "--out", str(out), "--holdout", "0.5", "--keep-synthetic", *NO_ICD10]
    counts = _run(capsys, *args)
    assert counts["held_out_groups"] > 0
    held = tmp_path / "pairs.holdout.jsonl"
    assert counts["out"] == str(out) and counts["holdout_file"] == str(held)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    queries = [json.loads(line) for line in held.read_text().splitlines()]
    assert len(rows) == counts["examples"] > 0 and len(queries) == counts["holdout_queries"]
    assert all(set(r) == {"id", "anchor", "positives", "labels"} for r in rows)
    assert all(set(q) == {"query", "gold"} for q in queries)
    # a rerun over our own files replaces them with the same content
    before = out.read_text()
    assert _run(capsys, *args)["examples"] == counts["examples"] and out.read_text() == before


def test_the_synthetic_cohorts_vocabulary_is_left_out_by_default(tmp_path, kg_dir, capsys):
    vocabulary = {normalize_term(t) for t in synthetic_note_vocabulary()}
    assert {"htn", "chf", "heart failure", "congestive heart failure", "shortness of breath"} <= vocabulary
    kept, left = tmp_path / "kept.jsonl", tmp_path / "left.jsonl"
    _run(capsys, "--kg", str(kg_dir), "--out", str(kept), "--holdout", "0.01", "--keep-synthetic", *NO_ICD10)
    counts = _run(capsys, "--kg", str(kg_dir), "--out", str(left), "--holdout", "0.01", *NO_ICD10)
    assert _terms(kept) & vocabulary  # the ward KG does name them ...
    assert not _terms(left) & vocabulary  # ... and none reaches training
    assert counts["synthetic_vocabulary_excluded"] and counts["anchor_excluded"] > 0


@pytest.mark.parametrize("share", ["0", "1", "1.5", "-0.2"])
def test_a_holdout_outside_zero_one_is_refused(tmp_path, kg_dir, capsys, share):
    err = _fail(capsys, "--kg", str(kg_dir), "--out", str(tmp_path / "p.jsonl"), "--holdout", share)
    assert f"holdout {float(share)!r} is outside (0, 1)" in err and "--holdout 0.2" in err
    assert not (tmp_path / "p.jsonl").exists()


def test_a_missing_kg_folder_is_named(tmp_path, capsys):
    err = _fail(capsys, "--kg", str(tmp_path / "no_kg"), "--out", str(tmp_path / "p.jsonl"), *NO_ICD10)
    assert "no_kg" in err and "emerge kg build-starter" in err


def test_a_negative_icd10_exclusion_is_refused(tmp_path, kg_dir, capsys):
    err = _fail(capsys, "--kg", str(kg_dir), "--out", str(tmp_path / "p.jsonl"), "--exclude-icd10-eval", "-1")
    assert "--exclude-icd10-eval -1" in err and "or 0 to keep them" in err


@pytest.mark.parametrize("name", ["pairs.jsonl", "pairs.holdout.jsonl"])
def test_files_of_the_user_are_never_overwritten(tmp_path, kg_dir, capsys, name):
    mine = tmp_path / name
    mine.write_text("my own notes\n")
    err = _fail(capsys, "--kg", str(kg_dir), "--out", str(tmp_path / "pairs.jsonl"), *NO_ICD10)
    assert str(mine) in err and "was not written by emerge" in err and "new file path" in err
    assert mine.read_text() == "my own notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["kg", name])  # nothing else written
