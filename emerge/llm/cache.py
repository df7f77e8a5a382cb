"""Persistent LLM output cache: one SQLite file, safe for several processes at once.

Key: `foundation.artifacts.stable_hash(backend name, model id, sampling settings, prompt)`, so a change of
model, decoding settings or prompt never reuses a stale answer. The database runs in WAL mode (readers
never block the writer), each `put_many` is one `BEGIN IMMEDIATE` transaction (a batch is committed
whole or not at all), and a busy timeout makes a second process wait for the lock instead of failing.
`INSERT OR IGNORE` keeps the first answer if two processes computed the same key.

A damaged file (not SQLite, or corrupted: `PRAGMA quick_check` runs at open) and any later SQLite
failure of a read or write raise `ArtifactError` naming the file and the fix: a damaged cache is only
lost work, so deleting it is always safe (its answers are recomputed).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from emerge.llm.base import Prompt, SamplingConfig
from foundation.artifacts import stable_hash
from foundation.errors import ArtifactError, UserInputError

__all__ = ["LLMCache", "cache_key", "cache_error", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
_CHUNK = 500  # keys per SELECT ... IN (...), well under SQLite's variable limit

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outputs (key TEXT PRIMARY KEY, backend TEXT NOT NULL, "
    "model_id TEXT NOT NULL, sampling TEXT NOT NULL, prompt TEXT NOT NULL, output TEXT NOT NULL, "
    "created REAL NOT NULL)",
)


# SQLite result codes (exc.sqlite_errorname) that mean "this file is damaged", and fixes for the others.
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_OTHER_FIXES = (
    (
        ("SQLITE_BUSY", "SQLITE_LOCKED"),
        "another process held its lock past the busy timeout; run again when it "
        "is done, or pass another --cache",
    ),
    (("SQLITE_FULL",), "the disk is full; free some space, or pass a --cache on another disk"),
    (
        ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH"),
        "this user cannot open or write it; check its permissions and its folder's, or pass another --cache",
    ),
)


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(_DAMAGED) or type(exc) is sqlite3.DatabaseError


def cache_error(path: Path, exc: sqlite3.DatabaseError) -> ArtifactError:
    """The `ArtifactError` for a SQLite failure on the cache file `path`: damaged, or what else to check."""
    if _is_damage(exc):
        return ArtifactError(
            f"LLM cache {path} is damaged or not a SQLite file ({exc}); delete it (its answers are "
            f"recomputed on the next run; also delete {path.name}-wal and {path.name}-shm if present), "
            f"or pass another --cache"
        )
    name = getattr(exc, "sqlite_errorname", "") or ""
    fix = next(
        (fix for names, fix in _OTHER_FIXES if name.startswith(names)),
        "check the file and its disk; if it keeps failing, delete it (its answers are recomputed)",
    )
    return ArtifactError(f"LLM cache {path}: SQLite failed ({exc}); {fix}")


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
        if self.path.is_dir():
            raise UserInputError(
                f"LLM cache {self.path} is a folder; pass a file path (e.g. llm_cache.sqlite)"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writable = (
            os.access(self.path, os.W_OK) if self.path.exists() else os.access(self.path.parent, os.W_OK)
        )
        if not writable:  # found now, not after hours of generation whose answers could not be kept
            raise ArtifactError(
                f"LLM cache {self.path} cannot be written by this user (or its folder is read-only); "
                "check its permissions, or pass another --cache"
            )
        self._lock = threading.Lock()
        with self._sqlite():
            self._conn = sqlite3.connect(
                str(self.path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        try:
            with self._sqlite():
                self._open(busy_timeout_s)
        except BaseException:
            self._conn.close()
            raise

    def _open(self, busy_timeout_s: float) -> None:
        """Settings, integrity check, schema (created in one transaction), schema version check."""
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across process kills
        problems = [row[0] for row in self._conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            lines = [line for text in problems for line in text.splitlines() if not line.startswith("***")]
            raise sqlite3.DatabaseError(
                "quick_check: " + " / ".join(lines[:2])
            )  # reported by _sqlite as damage
        self._conn.execute("BEGIN IMMEDIATE")
        for statement in _SCHEMA:
            self._conn.execute(statement)
        row = self._conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        if row is None:
            self._conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self._conn.execute("COMMIT")
        if row is not None and row[0] != str(SCHEMA_VERSION):
            raise ArtifactError(
                f"{self.path} has LLM cache schema {row[0]}, this code reads {SCHEMA_VERSION}; "
                f"delete the file (its answers will be recomputed) or use another --cache path"
            )

    @contextmanager
    def _sqlite(self) -> Iterator[None]:
        """Turn a SQLite failure inside the block into an `ArtifactError` naming the file and the fix."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise cache_error(self.path, exc) from exc

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        """The cached outputs of those `keys` that are present."""
        found: dict[str, str] = {}
        keys = list(dict.fromkeys(keys))
        with self._lock, self._sqlite():
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
        with self._lock, self._sqlite():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR IGNORE INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?)", values)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        with self._lock, self._sqlite():
            return int(self._conn.execute("SELECT COUNT(*) FROM outputs").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> LLMCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
