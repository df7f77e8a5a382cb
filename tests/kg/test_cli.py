from __future__ import annotations

import json

from click.testing import CliRunner

from emerge.cli import cli


def test_stats_and_link_on_saved_kg(tiny_kg, tmp_path, monkeypatch):
    monkeypatch.setenv("EMERGE_CACHE", str(tmp_path / "cache"))
    tiny_kg.save(tmp_path / "kg")
    saved = sorted(p.name for p in (tmp_path / "kg").iterdir())
    runner = CliRunner()
    res = runner.invoke(cli, ["kg", "stats", str(tmp_path / "kg")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["nodes"] == 5
    (tmp_path / "m.txt").write_text("HTN\nlow potassium\n\nchronic kidney disease stage 3\nbanana bread\n")
    res = runner.invoke(cli, ["kg", "link", "--kg", str(tmp_path / "kg"), "--mentions", str(tmp_path / "m.txt"),
                              "--types", "disease", "--out", str(tmp_path / "out.jsonl")])
    assert res.exit_code == 0, res.output
    recs = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["mention"] for r in recs] == ["HTN", "low potassium", "chronic kidney disease stage 3", "banana bread"]
    assert [r["node_id"] for r in recs[:3]] == ["I10", "E87.6", "N18.9"]  # the third by MiniLM cosine
    assert recs[2]["score"] < 1.0 and recs[3]["node_id"] is None
    assert list((tmp_path / "cache" / "linkers").glob("linker_*/index.faiss"))
    assert sorted(p.name for p in (tmp_path / "kg").iterdir()) == saved  # the KG folder is left as saved
    (tmp_path / "mine.jsonl").write_text("my own results\n")
    res = runner.invoke(cli, ["kg", "link", "--kg", str(tmp_path / "kg"), "--mentions", str(tmp_path / "m.txt"),
                              "--out", str(tmp_path / "mine.jsonl")])
    assert res.exit_code != 0 and "not written by emerge" in str(res.exception)
    assert (tmp_path / "mine.jsonl").read_text() == "my own results\n"


def test_link_missing_file_is_a_user_error(tiny_kg, tmp_path):
    import pytest

    from emerge.cli import main

    tiny_kg.save(tmp_path / "kg")
    with pytest.raises(SystemExit) as exc:
        main(["kg", "link", "--kg", str(tmp_path / "kg"), "--mentions", str(tmp_path / "none.txt")])
    assert exc.value.code == 2
