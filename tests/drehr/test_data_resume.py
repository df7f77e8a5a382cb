"""Resuming a build from its progress record (drehr.data.progress): killed or limited runs resumed give the
file an uninterrupted run gives, byte for byte, without reading the output; a damaged or mismatched record
falls back to reading the output's ids (or is refused when the settings differ), never skipping or
repeating an example."""

from __future__ import annotations

import json

import pytest

from drehr.data import (
    Progress,
    PromptUnit,
    Stage1Config,
    build_qa_file,
    build_stage1_file,
    build_stage2_file,
    parse_entity_list,
    progress_path,
    read_examples,
    run_llm_recipe,
    scan_notes,
)
from foundation.errors import UserInputError
from tests.drehr.test_data_streaming import many_notes
from tests.helpers.kg import notes_kg


class Crash(Exception):
    pass


@pytest.fixture
def notes(tmp_path):
    path = tmp_path / "notes.parquet"
    many_notes().write_parquet(path, row_group_size=5)
    return scan_notes(path)


def answer(prompt: str) -> str:
    """A fake LLM: an entity that depends on the chunk (its first words), and one every chunk shares."""
    words = prompt.split()
    own = " ".join(words[9:13]) if len(words) > 20 else prompt
    return f"- {own}\n- shared finding"


class FlakyLLM:
    """Answers like `answer`; raises Crash on call number `crash_on` (counted from 1)."""

    def __init__(self, crash_on: int | None = None) -> None:
        self.crash_on, self.calls, self.prompts = crash_on, 0, []

    def __call__(self, prompts: list[str]) -> list[str]:
        self.calls += 1
        if self.calls == self.crash_on:
            raise Crash
        self.prompts += prompts
        return [answer(p) for p in prompts]


def _ids(path) -> list[str]:
    return [ex.id for ex in read_examples(path)]


def _record(path) -> dict:
    return json.loads(progress_path(path).read_text(encoding="utf-8"))


def _no_output_read(monkeypatch):
    """Fail if the build reads the ids of its output (the slow path)."""

    def refuse(path):
        raise AssertionError(f"{path} was read: the fast resume must not read the output")

    monkeypatch.setattr("drehr.data.progress.scan_ids", refuse)


@pytest.fixture
def reference(tmp_path, notes):
    """Uninterrupted builds of each recipe, to compare resumed files with."""
    out = {}
    out["stage1"] = tmp_path / "ref_stage1.jsonl"
    build_stage1_file(notes, notes_kg(), out["stage1"], batch_size=3)
    out["stage2"] = tmp_path / "ref_stage2.jsonl"
    build_stage2_file(notes, FlakyLLM(), out["stage2"], batch_size=2)
    return out


def test_progress_record_describes_the_file(tmp_path, notes):
    out = tmp_path / "s1.jsonl"
    counts = build_stage1_file(notes, notes_kg(), out, batch_size=3)
    record = Progress.from_json(progress_path(out).read_text(encoding="utf-8"))
    assert record.recipe == "stage1" and record.anchors == counts["chunks"]
    assert record.size == out.stat().st_size and record.examples == counts["written"]
    assert record.last_example_id == _ids(out)[-1] and record.mark.source_id == "n22"


def test_stage2_killed_by_an_llm_error_resumes_to_the_same_file(tmp_path, notes, reference, monkeypatch):
    out = tmp_path / "stage2.jsonl"
    llm = FlakyLLM(crash_on=4)
    with pytest.raises(Crash):
        build_stage2_file(notes, llm, out, batch_size=2)
    assert len(_ids(out)) == 6 and _record(out)["anchors"] == 6  # three batches landed and were recorded
    _no_output_read(monkeypatch)
    again = FlakyLLM()
    counts = build_stage2_file(notes, again, out, batch_size=2)
    assert out.read_bytes() == reference["stage2"].read_bytes()
    assert counts["skipped"] == 6 and counts["chunks"] == counts["skipped"] + counts["written"]
    assert not set(llm.prompts) & set(again.prompts)  # no prompt asked twice


def test_stage1_killed_in_the_abbreviation_llm_resumes_to_the_same_file(tmp_path, notes):
    def expand(prompts):
        return ["HTN: essential hypertension\nCKD: chronic kidney disease" for _ in prompts]

    ref = tmp_path / "ref.jsonl"
    build_stage1_file(notes, notes_kg(), ref, expand_abbreviations=expand, batch_size=4)
    calls = []

    def flaky(prompts):
        calls.append(len(prompts))
        if len(calls) == 3:
            raise Crash
        return expand(prompts)

    out = tmp_path / "s1.jsonl"
    with pytest.raises(Crash):
        build_stage1_file(notes, notes_kg(), out, expand_abbreviations=flaky, batch_size=4)
    assert _record(out)["anchors"] == 8
    counts = build_stage1_file(notes, notes_kg(), out, expand_abbreviations=flaky, batch_size=4)
    assert out.read_bytes() == ref.read_bytes() and counts["skipped"] == 8
    assert counts["abbreviations_kept"] > 0


@pytest.mark.parametrize("limit", [1, 7, 10])
def test_stage1_limit_then_resume_equals_one_run(tmp_path, notes, reference, monkeypatch, limit):
    out = tmp_path / "s1.jsonl"
    first = build_stage1_file(notes, notes_kg(), out, limit=limit, batch_size=3)
    assert first["chunks"] == limit and _record(out)["anchors"] == limit
    _no_output_read(monkeypatch)
    assert build_stage1_file(notes, notes_kg(), out, limit=limit)["skipped"] == limit  # nothing to do
    rest = build_stage1_file(notes, notes_kg(), out, batch_size=5)
    assert out.read_bytes() == reference["stage1"].read_bytes()
    assert rest["skipped"] == limit and rest["processed"] == rest["chunks"] - limit
    assert build_stage1_file(notes, notes_kg(), out)["processed"] == 0  # a rerun of a finished file


@pytest.mark.parametrize("block", [1 << 16, 5])
def test_a_kill_after_a_batch_was_written_but_not_recorded_cuts_and_redoes_it(
    tmp_path, notes, reference, monkeypatch, block
):
    """A hard kill: the record stops at chunk 7, the file has more (whole lines and half a line).
    `block`: bytes read at a time when the last line is looked for (5: lines span many blocks)."""
    monkeypatch.setattr("drehr.data.examples._BLOCK", block)
    out = tmp_path / "s1.jsonl"
    build_stage1_file(notes, notes_kg(), out, limit=7, batch_size=3)
    size = out.stat().st_size
    full = reference["stage1"].read_bytes()
    assert full.startswith(out.read_bytes())
    with out.open("ab") as fh:  # what the next batches wrote before the kill
        fh.write(full[size : size + (len(full) - size) // 2])
    counts = build_stage1_file(notes, notes_kg(), out, batch_size=3)
    assert out.read_bytes() == full and counts["skipped"] == 7


@pytest.mark.parametrize(
    "damage",
    ["garbage", "missing", "too_long", "wrong_last_id", "wrong_note", "negative"],
)
def test_a_damaged_or_mismatched_record_falls_back_to_reading_the_ids(
    tmp_path, notes, reference, damage, caplog
):
    out = tmp_path / "stage2.jsonl"
    llm = FlakyLLM(crash_on=3)
    with pytest.raises(Crash):
        build_stage2_file(notes, llm, out, batch_size=2)
    record_path = progress_path(out)
    body = json.loads(record_path.read_text())
    if damage == "garbage":
        record_path.write_text('{"anchors": 4, "size": ')
    elif damage == "missing":  # a file written before records existed
        record_path.unlink()
    elif damage == "too_long":
        body["size"] += 10_000
    elif damage == "wrong_last_id":
        body["last_example_id"] = "n00_0"
    elif damage == "wrong_note":  # the notes changed: another note at the recorded position
        body["source_id"] = "n77"
    elif damage == "negative":
        body["anchors"] = -1
    if damage not in ("garbage", "missing"):
        record_path.write_text(json.dumps(body))
    again = FlakyLLM()
    counts = build_stage2_file(notes, again, out, batch_size=2)
    assert out.read_bytes() == reference["stage2"].read_bytes()  # nothing skipped or repeated
    assert counts["skipped"] == 4 and "resuming by reading every id" in caplog.text
    assert not set(llm.prompts) & set(again.prompts)
    assert _record(out)["anchors"] == counts["chunks"]  # a good record again: the next rerun is fast


def test_slow_path_records_progress_only_once_every_id_of_the_file_was_met(tmp_path, monkeypatch):
    """A file whose examples are not a prefix of the stream (no record): no record is written while
    ids of the file are still ahead, so a later fast resume cannot skip them."""
    units = [PromptUnit(f"u{i}", f"anchor {i}", (f"prompt {i}",)) for i in range(8)]
    out = tmp_path / "s.jsonl"
    run_llm_recipe(units[5:7], FlakyLLM(), parse_entity_list, out, batch_size=2)  # u5, u6 first
    progress_path(out).unlink()
    with pytest.raises(Crash):
        run_llm_recipe(units, FlakyLLM(crash_on=2), parse_entity_list, out, batch_size=2)
    assert _ids(out) == ["u5", "u6", "u0", "u1"] and not progress_path(out).exists()
    counts = run_llm_recipe(units, FlakyLLM(), parse_entity_list, out, batch_size=2)
    assert counts == {"written": 4, "skipped": 4, "empty": 0}
    assert sorted(_ids(out)) == [f"u{i}" for i in range(8)]  # each once
    assert _record(out)["anchors"] == 8
    _no_output_read(monkeypatch)
    assert run_llm_recipe(units, FlakyLLM(), parse_entity_list, out)["skipped"] == 8


def test_other_settings_are_refused(tmp_path, notes):
    out = tmp_path / "s1.jsonl"
    build_stage1_file(notes, notes_kg(), out, limit=3)
    with pytest.raises(UserInputError, match="other settings.*seed"):
        build_stage1_file(notes, notes_kg(), out, Stage1Config(seed=1))
    with pytest.raises(UserInputError, match="built by 'stage1'"):
        build_stage2_file(notes, FlakyLLM(), out)


def test_qa_limit_on_notes_and_resume(tmp_path, notes):
    def generate(prompts):
        return ["Why was the potassium low?\nWhat was the plan?" for _ in prompts]

    ref = tmp_path / "ref.jsonl"
    whole = build_qa_file(notes, generate, ref)
    out = tmp_path / "qa.jsonl"
    part = build_qa_file(notes, generate, out, limit=4)
    assert part["notes"] == 4
    assert build_qa_file(notes, generate, out, limit=2) == {
        **part,
        **{"notes": 2, "sections": 2, "skipped": 2, "written": 0},
    }
    rest = build_qa_file(notes, generate, out)
    assert out.read_bytes() == ref.read_bytes()
    assert rest["skipped"] == part["sections"] and rest["sections"] == whole["sections"]


def test_losing_the_output_starts_over(tmp_path, notes, reference):
    out = tmp_path / "s1.jsonl"
    build_stage1_file(notes, notes_kg(), out, limit=5)
    out.unlink()  # the record (and the ownership sidecar) stay behind
    build_stage1_file(notes, notes_kg(), out, batch_size=3)
    assert out.read_bytes() == reference["stage1"].read_bytes()
