"""Reading files a user gave us (or that we wrote and they may have damaged), with clear errors.

`reading(path, what)` wraps one read: the low-level failures a file can cause (missing, unreadable,
a folder, not UTF-8, a truncated gzip, a damaged parquet / safetensors / faiss / SQLite / JSON file)
become a `UserInputError` (`ArtifactError` for files we wrote) naming the file, the problem and the
fix. Only the read is wrapped, so a genuine bug elsewhere still shows its traceback.

`describe_os_error(exc)` is the message the CLI prints for an `OSError` that escaped every wrapper
(permission denied, disk full): those are about the machine, not bugs.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from foundation.errors import ArtifactError, UserInputError

__all__ = ["reading", "describe_os_error", "read_text_file", "damaged_file_errors"]


def damaged_file_errors() -> tuple[type[BaseException], ...]:
    """Exception types that libraries raise for a file whose content is not what its format requires."""
    import sqlite3

    types: list[type[BaseException]] = [
        json.JSONDecodeError,
        sqlite3.DatabaseError,
        zlib.error,
        EOFError,
        gzip.BadGzipFile,
    ]
    try:
        import polars as pl

        types += [pl.exceptions.ComputeError, pl.exceptions.PolarsError]
    except ImportError:  # pragma: no cover - polars is a dependency
        pass
    try:
        import pyarrow as pa

        types.append(pa.ArrowException)
    except ImportError:  # pragma: no cover
        pass
    try:
        from safetensors import SafetensorError

        types.append(SafetensorError)
    except ImportError:  # pragma: no cover
        pass
    try:
        import yaml

        types.append(yaml.YAMLError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(types)


def describe_os_error(exc: OSError, what: str = "file") -> str:
    """One line for an OS-level failure: the file, what happened, what to do."""
    name = exc.filename if exc.filename is not None else "a file"
    if isinstance(exc, PermissionError):
        return (
            f"permission denied for {name}; give this user access to it (chmod / chown), or pass a path "
            f"you can {'write' if what.startswith('output') else 'read'}"
        )
    if isinstance(exc, IsADirectoryError):
        return f"{name} is a folder, but a {what} was expected; pass the file's path"
    if isinstance(exc, NotADirectoryError):
        return f"{name}: a part of this path is a file, not a folder; check the path"
    if isinstance(exc, FileNotFoundError):
        return f"{what} {name} not found; check the path"
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device while writing {name}; free some space or write elsewhere"
    if exc.errno == errno.EROFS:
        return f"{name} is on a read-only file system; pass a writable output path"
    return f"cannot access {name}: {exc.strerror or exc}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


@contextmanager
def reading(
    path: str | os.PathLike, what: str = "file", fix: str | None = None, *, ours: bool = False
) -> Iterator[None]:
    """Turn the failures of reading `path` inside the block into an error naming it.

    what: what the file is ("MIMIC table", "LLM config"); fix: what to do if it is damaged (default:
    "re-create it" for our files, "check or re-export the file" for others). ours: the file was written
    by emerge (errors are `ArtifactError`s saying to rebuild it).
    """
    path = Path(path)
    error = ArtifactError if ours else UserInputError
    remedy = fix or ("build it again" if ours else "check the file, or export it again")
    try:
        yield
    except UserInputError:
        raise
    except UnicodeDecodeError as exc:
        raise UserInputError(
            f"{what} {path} is not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at position "
            f"{exc.start}); convert it to UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
        ) from exc
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise error(
            f"{what} {path} is truncated or not a valid gzip file ({_first_line(exc)}); "
            f"{fix or 'download or extract it again'}"
        ) from exc
    except OSError as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
            if exc.filename is None:
                exc.filename = str(path)
            raise UserInputError(describe_os_error(exc, what)) from exc
        detail = exc.strerror or _first_line(exc)
        if exc.errno is None:  # a library's read error (e.g. polars on a damaged or truncated file)
            raise error(f"{what} {path} is truncated or damaged ({detail}); {remedy}") from exc
        raise error(f"{what} {path} cannot be read ({detail}); {remedy}") from exc
    except damaged_file_errors() as exc:
        raise error(
            f"{what} {path} is damaged or not in the expected format ({_first_line(exc)}); {remedy}"
        ) from exc
    except RuntimeError as exc:  # faiss and torch report unreadable files as RuntimeError
        if not any(w in str(exc).lower() for w in ("read", "open", "file", "format", "magic", "eof", "zip")):
            raise
        raise error(
            f"{what} {path} is damaged or not in the expected format ({_first_line(exc)}); {remedy}"
        ) from exc


def read_text_file(path: str | os.PathLike, what: str = "text file") -> str:
    """The UTF-8 text of `path`, with `reading`'s errors."""
    path = Path(path)
    with reading(path, what):
        if path.is_dir():
            raise UserInputError(f"{what} {path} is a folder; pass the file's path")
        return path.read_text(encoding="utf-8")
