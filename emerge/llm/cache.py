"""Persistent LLM output cache: one SQLite file, safe for several processes at once.

Key: `foundation.artifacts.stable_hash(backend name, model id, sampling settings, prompt)`, so a change of
model, decoding settings or prompt never reuses a stale answer. The database runs in WAL mode (readers
never block the writer), each `put_many` is one `BEGIN IMMEDIATE` transaction (a batch is committed
whole or not at all), and a busy timeout makes a second process wait for the lock instead of failing.
`INSERT OR IGNORE` keeps the first answer if two processes computed the same key.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from emerge.llm.base import Prompt, SamplingConfig
from foundation.artifacts import stable_hash
from foundation.errors import ArtifactError

__all__ = ["LLMCache", "cache_key", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
_CHUNK = 500  # keys per SELECT ... IN (...), well under SQLite's variable limit

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outputs (key TEXT PRIMARY KEY, backend TEXT NOT NULL, model_id TEXT NOT NULL, "
    "sampling TEXT NOT NULL, prompt TEXT NOT NULL, output TEXT NOT NULL, created REAL NOT NULL)",
)


def cache_key(backend: str, model_id: str, sampling: SamplingConfig, prompt: Prompt) -> str:
    """Stable 32-hex-digit key of one generation request."""
    return stable_hash(backend, model_id, sampling, prompt, length=32)


class LLMCache:
    """Key -> output text store in `path` (created with its parent folder if missing).

    Usable from several threads of one process (one lock around the connection) and from several
    processes (SQLite file locking, WAL). Use as a context manager or call `close()`.
    """

    def __init__(self, path: str | os.PathLike, busy_timeout_s: float = 120.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(self.path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across process kills
            self._conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                self._conn.execute(statement)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise ArtifactError(
                f"{self.path} is not a usable SQLite LLM cache ({exc}); delete it or pass another --cache"
            ) from exc
        row = self._conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        if row is None:
            self._conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self._conn.execute("COMMIT")
        else:
            self._conn.execute("COMMIT")
            if int(row[0]) != SCHEMA_VERSION:
                self._conn.close()
                raise ArtifactError(
                    f"{self.path} has LLM cache schema {row[0]}, this code reads {SCHEMA_VERSION}; delete the file "
                    f"(its answers will be recomputed) or use another --cache path"
                )

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        """The cached outputs of those `keys` that are present."""
        found: dict[str, str] = {}
        keys = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT key, output FROM outputs WHERE key IN ({marks})", chunk)
                found.update(rows.fetchall())
        return found

    def get(self, key: str) -> str | None:
        return self.get_many([key]).get(key)

    def put_many(self, rows: Iterable[tuple[str, str, str, SamplingConfig, Prompt, str]]) -> None:
        """Store (key, backend, model_id, sampling, prompt, output) rows in one transaction."""
        now = time.time()
        values = [
            (
                key,
                backend,
                model_id,
                sampling.model_dump_json(),
                json.dumps(prompt, ensure_ascii=False),
                output,
                now,
            )
            for key, backend, model_id, sampling, prompt, output in rows
        ]
        if not values:
            return
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR IGNORE INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?)", values)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM outputs").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> LLMCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
