"""LLMCache and run_batch: keys, skipping cached work, kill-and-resume, two processes sharing a cache."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emerge.llm import LLMCache, SamplingConfig, as_text_fn, cache_key, run_batch
from foundation.errors import ArtifactError, UserInputError
from tests.helpers.fakes import FakeBackend
from tests.helpers.paths import REPO

WORKER = "tests.helpers.llm_worker"  # run with `-m` from the repository root
S = SamplingConfig(max_new_tokens=8)


def test_cache_key_changes_with_every_part():
    base = cache_key("fake", "m1", S, "p")
    assert base == cache_key("fake", "m1", SamplingConfig(max_new_tokens=8), "p")
    others = {
        cache_key("other", "m1", S, "p"),
        cache_key("fake", "m2", S, "p"),
        cache_key("fake", "m1", S.model_copy(update={"seed": 1}), "p"),
        cache_key("fake", "m1", S.model_copy(update={"temperature": 0.5}), "p"),
        cache_key("fake", "m1", S, "q"),
        cache_key("fake", "m1", S, [{"role": "user", "content": "p"}]),
    }
    assert base not in others and len(others) == 6


def test_cache_roundtrip_and_first_answer_wins(tmp_path):
    path = tmp_path / "c.sqlite"
    with LLMCache(path) as cache:
        cache.put_many([("k1", "fake", "m", S, "p1", "a1"), ("k2", "fake", "m", S, "p2", "a2")])
        cache.put_many([("k1", "fake", "m", S, "p1", "changed")])
        assert cache.get_many(["k1", "k2", "k3"]) == {"k1": "a1", "k2": "a2"}
        assert len(cache) == 2
    with LLMCache(path) as cache:  # persisted
        assert cache.get("k2") == "a2" and cache.get("nope") is None
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_cache_refuses_other_schema_and_non_sqlite(tmp_path):
    path = tmp_path / "c.sqlite"
    LLMCache(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(ArtifactError, match="schema 99"):
        LLMCache(path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ArtifactError, match="damaged or not a SQLite file"):
        LLMCache(junk)


def test_run_batch_skips_cached_and_dedupes(tmp_path):
    backend = FakeBackend()
    items = [("a", "p1"), ("b", "p2"), ("c", "p1"), ("d", "p3")]
    with LLMCache(tmp_path / "c.sqlite") as cache:
        out = run_batch(items, backend, S, cache=cache, batch_size=2, progress=False)
        assert out == {"a": "echo:p1@0", "b": "echo:p2@0", "c": "echo:p1@0", "d": "echo:p3@0"}
        assert backend.calls == ["p1", "p2", "p3"]  # the repeated prompt once
        assert backend.batches == [2, 1]
        again = run_batch(items + [("e", "p4")], backend, S, cache=cache, batch_size=2, progress=False)
        assert backend.calls == ["p1", "p2", "p3", "p4"]  # only the new prompt
        assert again["e"] == "echo:p4@0" and again["a"] == out["a"]
        # A different seed is a different request.
        run_batch([("a", "p1")], backend, S.model_copy(update={"seed": 5}), cache=cache, progress=False)
        assert backend.calls[-1] == "p1"


def test_run_batch_rejects_bad_items():
    backend = FakeBackend()
    with pytest.raises(UserInputError, match="unique"):
        run_batch([("a", "p"), ("a", "q")], backend, S, progress=False)
    with pytest.raises(UserInputError, match="prompt 0"):
        run_batch([("a", 17)], backend, S, progress=False)
    with pytest.raises(UserInputError, match="batch_size"):
        run_batch([("a", "p")], backend, S, batch_size=0, progress=False)
    assert backend.calls == []


def test_as_text_fn_is_a_cached_plain_callable(tmp_path):
    backend = FakeBackend()
    with LLMCache(tmp_path / "c.sqlite") as cache:
        fn = as_text_fn(backend, S, cache=cache, batch_size=2)
        assert fn(["x", "y", "x"]) == ["echo:x@0", "echo:y@0", "echo:x@0"]
        assert fn(["y", "x"]) == ["echo:y@0", "echo:x@0"]
        assert fn([]) == []
    assert backend.calls == ["x", "y"]


def _worker(
    tmp: Path, tag: str, first: int, last: int, batch: int, delay: float, cache: Path, slow_from: int = 0
) -> list[str]:
    return [
        sys.executable,
        "-m",
        WORKER,
        str(cache),
        str(tmp / f"result_{tag}.json"),
        str(tmp / "done.log"),
        str(tmp / f"start_{tag}.log"),
        str(first),
        str(last),
        str(batch),
        str(delay),
        str(slow_from),
    ]


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_kill_and_resume_loses_and_repeats_nothing(tmp_path):
    """SIGKILL a batch run while its 3rd batch is being generated; the rerun finishes the rest, and
    across both runs every prompt's generation was completed exactly once."""
    cache = tmp_path / "c.sqlite"
    n, batch = 20, 3
    # Batches 0 and 1 run at once; from batch 2 on each takes 60 s, so the kill lands inside batch 2.
    proc = subprocess.Popen(_worker(tmp_path, "1", 0, n, batch, 60.0, cache, slow_from=2), cwd=REPO)
    deadline = time.time() + 60
    while len(_lines(tmp_path / "start_1.log")) < 3:  # batches 0 and 1 done and committed, 2 in flight
        assert proc.poll() is None and time.time() < deadline, "worker ended before it could be killed"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    first_run = _lines(tmp_path / "done.log")
    assert first_run == [f"prompt {i}" for i in range(2 * batch)]
    assert not (tmp_path / "result_1.json").exists()
    with LLMCache(cache) as store:
        assert len(store) == 2 * batch  # committed batches survived the kill

    subprocess.run(_worker(tmp_path, "2", 0, n, batch, 0.0, cache), check=True, cwd=REPO)
    done = _lines(tmp_path / "done.log")
    assert sorted(done) == sorted(f"prompt {i}" for i in range(n))  # each exactly once, none lost
    result = json.loads((tmp_path / "result_2.json").read_text())
    assert result == {f"item-{i}": f"echo:prompt {i}@0" for i in range(n)}


def test_two_processes_share_one_cache(tmp_path):
    """Two workers with overlapping items write the same cache at once: both finish, no corruption,
    every item is stored, and a third run asks the backend for nothing."""
    cache = tmp_path / "c.sqlite"
    LLMCache(cache).close()
    procs = [
        subprocess.Popen(_worker(tmp_path, "a", 0, 30, 2, 0.01, cache), cwd=REPO),
        subprocess.Popen(_worker(tmp_path, "b", 15, 45, 2, 0.01, cache), cwd=REPO),
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    a = json.loads((tmp_path / "result_a.json").read_text())
    b = json.loads((tmp_path / "result_b.json").read_text())
    assert all(a[k] == b[k] for k in set(a) & set(b)) and len(set(a) & set(b)) == 15
    with LLMCache(cache) as store:
        assert len(store) == 45
    backend = FakeBackend()
    with LLMCache(cache) as store:
        out = run_batch(
            [(f"item-{i}", f"prompt {i}") for i in range(45)], backend, S, cache=store, progress=False
        )
    assert backend.calls == [] and out["item-44"] == "echo:prompt 44@0"


def _filled_cache(path: Path, rows: int = 300) -> list[str]:
    """A real cache of `rows` answers (~220 KB, ~55 pages), closed; returns its keys."""
    keys = [f"k{i:04d}" for i in range(rows)]
    with LLMCache(path) as cache:
        cache.put_many([(k, "fake", "m", S, f"prompt {k} " * 20, f"answer {k} " * 30) for k in keys])
    return keys


def _overwrite(path: Path, start: float, stop: float) -> None:
    """Overwrite the bytes from `start` to `stop` (fractions of the file's size) with garbage."""
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(int(size * start))
        fh.write(b"\xa5" * (int(size * stop) - int(size * start)))


def test_cache_damaged_in_the_middle_is_refused_at_open(tmp_path):
    path = tmp_path / "c.sqlite"
    _filled_cache(path)
    _overwrite(path, 0.49, 0.505)  # 3 KB in the middle of the table
    with pytest.raises(ArtifactError, match="is damaged or not a SQLite file") as info:
        LLMCache(path)
    message = str(info.value)
    assert str(path) in message and "delete it (its answers are recomputed" in message


def test_cache_that_is_not_sqlite_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "notes.jsonl"
    text = '{"id": 1, "prompt": "a user\'s file passed as --cache by mistake"}\n' * 50
    path.write_text(text)
    with pytest.raises(ArtifactError, match=f"{path} is damaged or not a SQLite file.*delete it"):
        LLMCache(path)
    assert path.read_text() == text and not (tmp_path / "notes.jsonl-wal").exists()


def test_cache_damaged_while_open_fails_reads_and_writes_clearly(tmp_path):
    path = tmp_path / "c.sqlite"
    keys = _filled_cache(path)
    with LLMCache(path) as cache:
        # The second half: table pages (read by get_many) and the rightmost leaf (where inserts go).
        _overwrite(path, 0.5, 1.0)
        cache._conn.execute("PRAGMA cache_size = 0")  # drop the page cache: reads go to the damaged file
        with pytest.raises(ArtifactError, match=f"{path} is damaged.*delete it"):
            cache.get_many(keys)
        with pytest.raises(ArtifactError, match=f"{path} is damaged.*delete it"):
            cache.put_many([(k + "-new", "fake", "m", S, "p", "a") for k in keys])
