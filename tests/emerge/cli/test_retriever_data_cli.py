"""`emerge retriever build-stage1 | build-stage2 | build-qa` on tiny notes, a tiny KG and a fake LLM.

The library under them (drehr.data.notes / drehr.data.files) is tested in tests/drehr/test_data_files.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from emerge.cli.retriever import group
from emerge.llm.base import LLMBackend, SamplingConfig
from tests.helpers.kg import notes_kg
from tests.helpers.notes import FILLER, write_notes_csv_gz


@pytest.fixture
def kg_dir(tmp_path):
    return notes_kg().save(tmp_path / "kg")


@pytest.fixture
def notes_csv_gz(tmp_path):
    return write_notes_csv_gz(tmp_path / "discharge.csv.gz")


class EchoBackend(LLMBackend):
    """Answers every prompt with a fixed bulleted list and counts the prompts it saw."""

    name = "echo"
    model_id = "echo-1"

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls = 0

    @property
    def max_context_tokens(self) -> int:
        return 4096

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _generate(self, prompts, sampling: SamplingConfig) -> list[str]:
        self.calls += len(prompts)
        return [self.answer for _ in prompts]


@pytest.fixture
def llm_yaml(tmp_path):
    path = tmp_path / "llm.yaml"
    path.write_text("backend: transformers\nmodel: null\n")
    return path


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_build_stage1_writes_kg_positives_and_resumes(tmp_path, notes_csv_gz, kg_dir):
    out = tmp_path / "stage1.jsonl"
    args = ["build-stage1", "--notes", str(notes_csv_gz), "--kg", str(kg_dir), "--out", str(out)]
    first = CliRunner().invoke(group, args)
    assert first.exit_code == 0, first.output
    counts = json.loads(first.stdout)
    rows = _lines(out)
    # n1 and n2 are 120 words -> 2 chunks each; n3 is under 50 words
    assert counts["chunks"] == 4 and counts["skipped"] == 0
    by_id = {r["id"]: r for r in rows}
    assert counts["written"] == len(rows) and set(by_id) == {"n1_0", "n2_0"}  # the chunks naming a KG term
    n1 = {p.lower() for p in by_id["n1_0"]["positives"]}
    assert {"htn", "essential hypertension", "hypokalemia", "low potassium"} <= n1
    assert "chronic kidney disease" in n1  # hypokalemia is_a CKD (hypernym) / related to hypertension
    assert "ckd" in {p.lower() for p in by_id["n2_0"]["positives"]}
    # rerun: every chunk was done (with or without an example), from the progress record; nothing duplicated
    again = CliRunner().invoke(group, args)
    assert again.exit_code == 0, again.output
    counts = json.loads(again.stdout)
    assert (counts["chunks"], counts["skipped"], counts["processed"], counts["written"]) == (4, 4, 0, 0)
    assert len(_lines(out)) == len(rows)


def test_build_stage1_limit_and_bad_kg(tmp_path, notes_csv_gz, kg_dir):
    out = tmp_path / "s1.jsonl"
    res = CliRunner().invoke(
        group,
        [
            "build-stage1",
            "--notes",
            str(notes_csv_gz),
            "--kg",
            str(kg_dir),
            "--out",
            str(out),
            "--limit",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["chunks"] == 1 and [r["id"] for r in _lines(out)] == ["n1_0"]
    bad = CliRunner().invoke(
        group, ["build-stage1", "--notes", str(notes_csv_gz), "--kg", str(tmp_path), "--out", str(out)]
    )
    assert bad.exit_code != 0 and "neither 'starter'" in str(bad.exception or bad.output)


def test_build_stage2_uses_llm_cache_and_resumes(tmp_path, notes_csv_gz, llm_yaml, monkeypatch):
    backend = EchoBackend("Here are the diagnoses:\n- Hypertension (chronic)\n- Hypokalemia: low K\n- NA")
    monkeypatch.setattr("emerge.llm.factory.build_backend", lambda *a, **k: backend)
    out = tmp_path / "stage2.jsonl"
    args = [
        "build-stage2",
        "--notes",
        str(notes_csv_gz),
        "--llm",
        str(llm_yaml),
        "--out",
        str(out),
        "--limit",
        "3",
    ]
    res = CliRunner().invoke(group, args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["written"] == 3 and backend.calls == 3 * 3  # 3 chunks x 3 entity types
    rows = _lines(out)
    assert [r["id"] for r in rows] == ["n1_0", "n1_1", "n2_0"]
    assert rows[0]["positives"] == ["Hypertension", "Hypokalemia"]
    assert (tmp_path / "stage2.jsonl.llm_cache.sqlite").is_file()
    # extending the limit: done chunks skipped, the new one's 3 prompts are the only backend work
    res = CliRunner().invoke(group, args[:-1] + ["10"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["skipped"] == 3 and backend.calls == 12
    # losing the JSONL (not the cache): all examples come back without asking the model again
    out.unlink()
    res = CliRunner().invoke(group, args[:-1] + ["10"])
    assert json.loads(res.stdout)["written"] == 4 and backend.calls == 12


def test_build_qa_writes_questions_per_section(tmp_path, llm_yaml, monkeypatch):
    backend = EchoBackend(
        "1. What was the potassium level on admission?\n2. Why was the patient admitted?\nnot a question"
    )
    monkeypatch.setattr("emerge.llm.factory.build_backend", lambda *a, **k: backend)
    text = (
        "History of Present Illness:\n" + " ".join(FILLER) + " hypokalemia\n"
        "Brief Hospital Course:\n" + " ".join(FILLER) + " potassium repleted\n"
    )
    notes = tmp_path / "notes.jsonl"
    notes.write_text(json.dumps({"note_id": "n9", "patient_id": "p", "text": text}) + "\n")
    out = tmp_path / "qa.jsonl"
    res = CliRunner().invoke(
        group, ["build-qa", "--notes", str(notes), "--llm", str(llm_yaml), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    rows = _lines(out)
    assert [r["id"] for r in rows] == ["n9_s0", "n9_s1"]
    assert rows[1]["anchor"].endswith("potassium repleted")
    assert rows[0]["positives"] == [
        "What was the potassium level on admission?",
        "Why was the patient admitted?",
    ]


def test_build_stage1_with_llm_abbreviation_expansion(tmp_path, notes_csv_gz, kg_dir, llm_yaml, monkeypatch):
    backend = EchoBackend("HTN: high blood pressure\nXYZ: not a kg term")
    monkeypatch.setattr("emerge.llm.factory.build_backend", lambda *a, **k: backend)
    out = tmp_path / "s1.jsonl"
    res = CliRunner().invoke(
        group,
        [
            "build-stage1",
            "--notes",
            str(notes_csv_gz),
            "--kg",
            str(kg_dir),
            "--out",
            str(out),
            "--llm",
            str(llm_yaml),
        ],
    )
    assert res.exit_code == 0, res.output
    counts = json.loads(res.stdout)
    assert backend.calls == 4  # one abbreviation prompt per chunk
    # kept: HTN in n1_0 (stands alone, expansion is a KG term); rejected: XYZ everywhere, HTN where absent
    assert counts["abbreviations_kept"] == 1 and counts["abbreviations_rejected"] == 7
    assert (tmp_path / "s1.jsonl.llm_cache.sqlite").is_file()
