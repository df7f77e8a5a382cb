"""Versioned on-disk artifacts and stable hashes of settings.

Everything persistent in the project is a directory holding a JSON config with a `kind` and a
`format_version`, beside parquet / safetensors files. `write_config` and `read_config` are the one
place that writes and checks those configs; `stable_hash` keys caches on the settings and inputs
that produced an artifact, so a change of settings never reuses a stale one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from foundation.errors import ArtifactError

__all__ = [
    "atomic_directory",
    "cache_root",
    "current_umask",
    "jsonable",
    "CONFIG_NAME",
    "write_config",
    "read_config",
    "stable_hash",
    "atomic_write_text",
    "file_fingerprint",
    "content_digest",
    "iter_json_objects",
    "FULL_HASH_LIMIT",
]

CONFIG_NAME = "config.json"


def jsonable(obj: Any) -> Any:
    """Turn dataclasses, pydantic models, paths, enums and sets into plain JSON values."""
    if hasattr(obj, "model_dump"):
        return jsonable(obj.model_dump(mode="json"))
    if is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(jsonable(v) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return obj


def stable_hash(*parts: Any, length: int = 16) -> str:
    """Hex digest of `parts` that is identical across runs, machines and dict orderings."""
    payload = json.dumps(jsonable(list(parts)), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:length]


FULL_HASH_LIMIT = 256 * 1024 * 1024
"""Input files up to this size are hashed whole for their fingerprint; larger ones are sampled."""

_SAMPLE_BLOCK, _SAMPLE_BLOCKS = 1 << 20, 16


def content_digest(path: str | os.PathLike, *, sample: bool = False) -> str:
    """sha256 of a file's bytes; with `sample`, of 16 evenly spaced 1 MiB blocks (first and last included).

    Sampling bounds the cost for tables of many GB (MIMIC-IV's chartevents is ~3 GB gzipped): an edit
    that keeps the size and the modification time and falls between the sampled blocks is not seen.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        if not sample:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
            return digest.hexdigest()
        size = os.fstat(fh.fileno()).st_size
        last = max(0, size - _SAMPLE_BLOCK)
        for i in range(_SAMPLE_BLOCKS):
            fh.seek(last * i // (_SAMPLE_BLOCKS - 1))
            digest.update(fh.read(_SAMPLE_BLOCK))
    return digest.hexdigest()


def file_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Identity of an input file for cache keys: name, size and a content hash.

    Files up to `FULL_HASH_LIMIT` (256 MiB) are hashed whole, so any edit changes the key even when it
    keeps the size and the modification time. Larger files are keyed by size, modification time and a
    hash of 16 sampled 1 MiB blocks (`content_digest(sample=True)`): reading all of a 30 GB table on
    every rerun would cost minutes, and a same-size edit that also restores the modification time and
    misses every sampled block is the accepted blind spot (pass `--force` after such an edit).
    """
    p = Path(path)
    st = p.stat()
    if st.st_size <= FULL_HASH_LIMIT:
        return {"name": p.name, "size": st.st_size, "sha256": content_digest(p)}
    return {
        "name": p.name,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "sampled_sha256": content_digest(p, sample=True),
    }


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` through a temporary file and a rename, so a kill never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(target: str | os.PathLike, *, keep_existing_with: str | None = None) -> Iterator[Path]:
    """Yield an empty temporary folder beside `target`; when the block ends without an error, it becomes
    `target` in one rename, so a kill never leaves half a folder (on an error it is removed).

    keep_existing_with=None: an existing `target` is replaced (a re-save).
    keep_existing_with=NAME: for caches that several processes may fill at once: `target` is never removed;
        if the rename fails because another process already put a complete copy (one holding the file
        NAME) there, that copy is kept and ours dropped.
    The folder gets the usual permissions (mkdtemp makes it private to its owner).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    os.chmod(tmp, 0o777 & ~current_umask())
    try:
        yield tmp
        if keep_existing_with is None:
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        else:
            try:
                os.replace(tmp, target)
            except OSError:
                if not (target / keep_existing_with).is_file():
                    raise
                logging.getLogger(__name__).info(
                    "another process finished %s first; keeping its copy", target
                )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)  # only left when another process's copy was kept


def write_config(
    directory: str | os.PathLike,
    kind: str,
    format_version: int,
    payload: Mapping[str, Any],
    name: str = CONFIG_NAME,
) -> Path:
    """Write `{"kind", "format_version", **payload}` as `directory/name`, atomically."""
    body = {"kind": kind, "format_version": format_version, **jsonable(dict(payload))}
    path = Path(directory) / name
    atomic_write_text(path, json.dumps(body, indent=2, sort_keys=False) + "\n")
    return path


def read_config(
    directory: str | os.PathLike, kind: str, format_version: int, name: str = CONFIG_NAME
) -> dict[str, Any]:
    """Read and check a config written by `write_config`; raise `ArtifactError` saying what to do."""
    path = Path(directory) / name
    if not path.is_file():
        raise ArtifactError(
            f"{path} not found: {directory} is not a saved {kind!r} directory. "
            f"Pass the folder that a `save(...)` of a {kind} wrote, or build it again."
        )
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(
            f"{path} is not valid JSON ({exc}); delete {directory} and build it again."
        ) from exc
    if not isinstance(body, dict):
        raise ArtifactError(f"{path} does not hold a JSON object; delete {directory} and build it again.")
    found_kind = body.get("kind")
    if found_kind != kind:
        raise ArtifactError(
            f"{path} describes a {found_kind!r}, expected a {kind!r}; "
            f"is the path pointing at the right folder?"
        )
    found_version = body.get("format_version")
    if found_version != format_version:
        raise ArtifactError(
            f"{path} has format_version {found_version}, this version of the code reads {format_version}; "
            f"rebuild {directory} with this version (or install the version that wrote it)."
        )
    return body


def iter_json_objects(
    path: str | os.PathLike, expected: str, missing_hint: str = ""
) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSON-lines file.

    `expected` describes a line (e.g. '{"_id": ..., "text": ...}'); a missing file, invalid JSON or a
    line that is not an object raises `UserInputError` naming the file, the line and `expected`.
    """
    from foundation.errors import UserInputError
    from foundation.inputs import reading

    path = Path(path)
    if path.is_dir():
        raise UserInputError(
            f"{path} is a folder; expected a JSON-lines file of {expected}. {missing_hint}".strip()
        )
    if not path.is_file():
        raise UserInputError(
            f"{path} not found; expected a JSON-lines file of {expected}. {missing_hint}".strip()
        )
    with reading(path, "JSON-lines file"), open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):  # streamed: a file of millions of lines is never held whole
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserInputError(
                    f"{path}:{number} is not valid JSON ({exc}); expected {expected}"
                ) from exc
            if not isinstance(row, dict):
                raise UserInputError(f"{path}:{number}: expected {expected}, got {line[:80]!r}")
            yield number, row


def cache_root() -> Path:
    """Root of every cache this project keeps outside a run folder (starter KG, converted LLMs, LLM
    outputs): `$EMERGE_CACHE`, else `~/.cache/emerge`."""
    env = os.environ.get("EMERGE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "emerge"
