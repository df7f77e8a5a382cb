"""Output folders this program owns, and cached steps that are reused only when whole and current.

The rule: **no file this program did not write is ever deleted or overwritten.** Every output folder
that a command may later replace carries a manifest, `emerge_manifest.json`:

    {"owner": "emerge-drehr", "manifest_version": 1, "kind": "ehr_dataset", "format_version": 1,
     "key": "3f2a...", "growing": false, "info": {...},
     "files": {"cohort.parquet": {"size": 81234, "sha256": "...", "mtime_ns": ...}, ...}}

- A folder may be replaced only if it is absent, empty, or holds a manifest of the expected kind
  *and* nothing besides the files that manifest lists (`ensure_replaceable`). Anything else (a user's
  folder, a folder written by an older version, a folder of another kind, our folder with a user's file
  added) is refused with the folder, the reason and the fix, before any work starts.
- Replacing deletes only the files the manifest lists, then the folders left empty (`remove_owned`);
  it never walks a tree with `rmtree`.
- `cached_step` builds into a hidden sibling folder, writes the manifest last, and swaps it in with
  renames, so a killed build never leaves a folder that looks finished. It reuses the folder only when
  the kind, format version and key match and every listed file still has its recorded size and
  content (`verify`: the modification time is a fast path; when it differs the sha256 decides). A
  damaged folder is rebuilt.
- A *growing* folder (an experiment's output, a training run with its checkpoints, an LLM cache) is
  filled over time; `claim_folder` marks it ours when it is created and refuses a folder that is not.
- A single output file is replaced only if a sidecar `.<name>.emerge.json` written with it records
  its current content (`check_file_replaceable`, `write_owned_text`).

Temporary build folders (`.<name>.building-*`) carry a marker file; the next run removes those left
by a killed run (`clean_leftovers`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foundation.artifacts import atomic_write_text, content_digest, current_umask, jsonable
from foundation.errors import ArtifactError, UserInputError

__all__ = [
    "MANIFEST_NAME",
    "FileRecord",
    "Manifest",
    "StepResult",
    "read_manifest",
    "write_manifest",
    "scan_files",
    "verify",
    "check_whole",
    "foreign_files",
    "usual_permissions",
    "ensure_replaceable",
    "remove_owned",
    "claim_folder",
    "clean_leftovers",
    "building",
    "publish",
    "reusable",
    "cached_step",
    "check_file_replaceable",
    "write_owned_text",
    "record_owned_file",
    "check_output_file",
]

logger = logging.getLogger(__name__)

MANIFEST_NAME = "emerge_manifest.json"
_OWNER = "emerge-drehr"
_MANIFEST_VERSION = 1
_INCOMPLETE = ".emerge-incomplete"  # marker inside a temporary build folder
_SHOW = 5  # names listed in a message


@dataclass(frozen=True)
class FileRecord:
    """What was written: size in bytes, sha256 of the content, modification time (ns) at writing."""

    size: int
    sha256: str
    mtime_ns: int


@dataclass(frozen=True)
class Manifest:
    """The proof that a folder is ours, and what it held when it was finished."""

    kind: str
    format_version: int
    key: str | None
    files: Mapping[str, FileRecord] = field(default_factory=dict)
    growing: bool = False
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepResult:
    """The folder of a cached step, its manifest, and whether it was reused rather than built."""

    path: Path
    manifest: Manifest
    reused: bool

    @property
    def info(self) -> Mapping[str, Any]:
        return self.manifest.info


def _kinds(kind: str | Iterable[str]) -> tuple[str, ...]:
    return (kind,) if isinstance(kind, str) else tuple(kind)


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOW])
    return shown + (f" and {len(names) - _SHOW} more" if len(names) > _SHOW else "")


# ------------------------------------------------------------------------------------------ manifests
def read_manifest(folder: str | os.PathLike) -> Manifest | None:
    """The manifest of `folder`, or None when there is none we wrote (absent, not JSON, not ours)."""
    path = Path(folder) / MANIFEST_NAME
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(body, dict) or body.get("owner") != _OWNER or not isinstance(body.get("kind"), str):
        return None
    try:
        files = {
            str(name): FileRecord(int(r["size"]), str(r["sha256"]), int(r["mtime_ns"]))
            for name, r in (body.get("files") or {}).items()
        }
        return Manifest(
            body["kind"],
            int(body.get("format_version", 0)),
            body.get("key"),
            files,
            bool(body.get("growing", False)),
            body.get("info") or {},
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def scan_files(folder: str | os.PathLike) -> dict[str, FileRecord]:
    """Every file under `folder` (relative POSIX path -> record), the manifest and build marker excluded."""
    root = Path(folder)
    records: dict[str, FileRecord] = {}
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            rel = path.relative_to(root).as_posix()
            if rel in (MANIFEST_NAME, _INCOMPLETE):
                continue
            st = path.lstat()
            digest = content_digest(path) if path.is_file() and not path.is_symlink() else "link"
            records[rel] = FileRecord(st.st_size, digest, st.st_mtime_ns)
    return dict(sorted(records.items()))


def usual_permissions(folder: str | os.PathLike) -> None:
    """Give every file and folder under `folder` the permissions the umask gives new files (0644 / 0755
    with the usual umask): some writers (safetensors, mkstemp, mkdtemp) make them private to the owner."""
    mask = current_umask()
    for directory, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(Path(directory) / name, 0o777 & ~mask)
        for name in files:
            path = Path(directory) / name
            if not path.is_symlink():
                os.chmod(path, (0o777 if os.access(path, os.X_OK) else 0o666) & ~mask)


def write_manifest(
    folder: str | os.PathLike,
    kind: str,
    format_version: int,
    key: str | None,
    info: Mapping[str, Any] | None = None,
    *,
    growing: bool = False,
) -> Manifest:
    """Record `folder` as ours; unless `growing`, list every file now in it with its size and sha256
    (after giving them the usual permissions)."""
    if not growing:
        usual_permissions(folder)
    files = {} if growing else scan_files(folder)
    manifest = Manifest(kind, format_version, key, files, growing, dict(info or {}))
    body = {
        "owner": _OWNER,
        "manifest_version": _MANIFEST_VERSION,
        "kind": kind,
        "format_version": format_version,
        "key": key,
        "growing": growing,
        "info": jsonable(manifest.info),
        "files": {n: {"size": r.size, "sha256": r.sha256, "mtime_ns": r.mtime_ns} for n, r in files.items()},
    }
    atomic_write_text(Path(folder) / MANIFEST_NAME, json.dumps(body, indent=2) + "\n")
    return manifest


def verify(folder: str | os.PathLike, manifest: Manifest) -> list[str]:
    """Problems that make `folder` differ from what `manifest` recorded ([] = whole and unchanged)."""
    root = Path(folder)
    problems = []
    for name, record in manifest.files.items():
        path = root / name
        try:
            st = path.lstat()
        except OSError:
            problems.append(f"{name} is missing")
            continue
        if st.st_size != record.size:
            problems.append(f"{name} has {st.st_size} bytes, {record.size} were written")
        elif st.st_mtime_ns != record.mtime_ns and record.sha256 != "link":
            try:
                same = content_digest(path) == record.sha256
            except OSError as exc:
                problems.append(f"{name} cannot be read ({exc.strerror})")
                continue
            if not same:
                problems.append(f"{name} was changed after it was written")
    return problems


def foreign_files(folder: str | os.PathLike, manifest: Manifest | None) -> list[str]:
    """Files under `folder` that `manifest` does not list (all of them when there is no manifest)."""
    listed = set(manifest.files) if manifest is not None else set()
    return [n for n in scan_names(folder) if n not in listed]


def scan_names(folder: str | os.PathLike) -> list[str]:
    """Relative paths of every file under `folder` (no hashing), the manifest and build marker excluded."""
    root = Path(folder)
    names = []
    for directory, _dirs, files in os.walk(root):
        for name in files:
            rel = (Path(directory) / name).relative_to(root).as_posix()
            if rel not in (MANIFEST_NAME, _INCOMPLETE):
                names.append(rel)
    return sorted(names)


def check_whole(
    folder: str | os.PathLike, kind: str, what: str, fix: str = "build it again"
) -> Manifest | None:
    """Before reading a `kind` folder we wrote: raise `ArtifactError` naming what was damaged since.

    Returns the manifest, or None for a folder without one of ours (read as it is; its own checks apply).
    """
    manifest = read_manifest(folder)
    if manifest is None or manifest.kind != kind:
        return None
    problems = verify(folder, manifest)
    if problems:
        raise ArtifactError(
            f"{what} {folder} was damaged after emerge wrote it ({'; '.join(problems[:3])}); {fix}"
        )
    return manifest


# ------------------------------------------------------------------------------------------ ownership
def ensure_replaceable(
    folder: str | os.PathLike, kind: str | Iterable[str], what: str = "output folder"
) -> None:
    """Raise `UserInputError` unless `folder` may be replaced by a new `kind` folder.

    Replaceable: absent; an empty folder; a folder whose manifest is of one of `kind` and that holds
    no file the manifest does not list. A growing folder of the kind is replaceable only when empty.
    """
    folder = Path(folder)
    kinds = _kinds(kind)
    if not folder.exists() and not folder.is_symlink():
        _check_creatable(folder, what)
        return
    if not folder.is_dir() or folder.is_symlink():
        raise UserInputError(
            f"{what} {folder} exists and is not a folder; pass a folder path that does not "
            f"exist yet (it will be created)"
        )
    names = scan_names(folder)
    manifest = read_manifest(folder)
    if not os.access(folder, os.W_OK) or not os.access(folder.parent, os.W_OK):
        raise UserInputError(
            f"{what} {folder} (or the folder holding it) is not writable; give this user write "
            "access, or pass another folder"
        )
    if manifest is None:
        if not names and not any(folder.iterdir()):
            return
        raise UserInputError(
            f"{what} {folder} is not empty and was not written by emerge (no {MANIFEST_NAME} of ours: "
            f"it holds {_listing(names or [p.name for p in folder.iterdir()])}); refusing to replace it "
            f"so that nothing of yours is deleted. Pass a new or empty folder, or move those files away."
        )
    if manifest.kind not in kinds:
        raise UserInputError(
            f"{what} {folder} holds a {manifest.kind!r} written by emerge, "
            f"not a {' or '.join(map(repr, kinds))}; pass another folder "
            f"(or delete that one yourself if you no longer need it)."
        )
    foreign = [n for n in names if n not in manifest.files] if not manifest.growing else names
    if foreign:
        raise UserInputError(
            f"{what} {folder} holds files emerge did not write ({_listing(foreign)}); refusing to replace "
            f"it so that they are not deleted. Move them out of {folder}, or pass another folder."
        )


def remove_owned(folder: str | os.PathLike, kind: str | Iterable[str], what: str = "output folder") -> None:
    """Delete a folder we wrote: only the files its manifest lists, then the folders left empty."""
    folder = Path(folder)
    ensure_replaceable(folder, kind, what)
    if folder.exists():
        _delete_listed(folder)


def _delete_listed(folder: Path) -> None:
    """Delete the files the manifest of `folder` lists, the manifest, then the folders left empty."""
    manifest = read_manifest(folder)
    for name in manifest.files if manifest is not None else ():
        (folder / name).unlink(missing_ok=True)
    for marker in (MANIFEST_NAME, _INCOMPLETE):
        (folder / marker).unlink(missing_ok=True)
    _remove_empty_dirs(folder)
    if folder.exists():
        logger.warning(
            "%s was kept: it holds files emerge did not write (%s)", folder, _listing(scan_names(folder))
        )


def _remove_empty_dirs(folder: Path) -> None:
    for directory, _dirs, _files in sorted(os.walk(folder), key=lambda t: -len(t[0])):
        try:
            os.rmdir(directory)
        except OSError:
            pass  # not empty: something we did not write is in it, and stays


def _check_creatable(path: Path, what: str) -> None:
    """The nearest existing parent of `path` must be a writable folder."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserInputError(f"{what} {path}: {parent} is a file, not a folder; pass another path")
            if not os.access(parent, os.W_OK):
                raise UserInputError(
                    f"{what} {path}: folder {parent} is not writable; pass a path you can write to"
                )
            return


def claim_folder(
    folder: str | os.PathLike,
    kind: str,
    key: str | None = None,
    info: Mapping[str, Any] | None = None,
    what: str = "output folder",
) -> Manifest:
    """Make `folder` a growing folder of ours (created if absent), or check that it already is one.

    Refused: a file; a non-empty folder without our manifest; a folder of ours of another kind.
    Returns the folder's manifest (its `key` tells the caller which settings filled it).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserInputError(f"{what} {folder} exists and is not a folder; pass a folder path")
    if not folder.exists():
        _check_creatable(folder, what)
    manifest = read_manifest(folder) if folder.is_dir() else None
    if folder.is_dir() and not os.access(folder, os.W_OK):
        raise UserInputError(
            f"{what} {folder} is not writable; give this user write access, or pass another folder"
        )
    if manifest is not None:
        if manifest.kind != kind:
            raise UserInputError(
                f"{what} {folder} holds a {manifest.kind!r} written by emerge, not a {kind!r}; "
                f"pass another folder"
            )
        return manifest
    if folder.is_dir() and any(folder.iterdir()):
        raise UserInputError(
            f"{what} {folder} is not empty and was not written by emerge (no {MANIFEST_NAME} of ours: "
            f"it holds {_listing([p.name for p in sorted(folder.iterdir())])}); pass a new or empty "
            f"folder so that nothing of yours is mixed up or overwritten."
        )
    folder.mkdir(parents=True, exist_ok=True)
    return write_manifest(folder, kind, 1, key, info, growing=True)


# ----------------------------------------------------------------------------------- cached steps
def clean_leftovers(target: str | os.PathLike) -> None:
    """Remove the temporary build folders of `target` that a killed run left (only those we marked)."""
    target = Path(target)
    if not target.parent.is_dir():
        return
    for stale in target.parent.glob(f".{target.name}.building-*"):
        if stale.is_dir() and (stale / _INCOMPLETE).is_file():
            shutil.rmtree(stale, ignore_errors=True)  # made by `building`: everything in it is ours
            logger.info("removed %s, left by an interrupted build", stale)
    for stale in target.parent.glob(f".{target.name}.old-*"):
        if stale.is_dir() and read_manifest(stale) is not None:
            _delete_listed(stale)  # moved aside by `publish` just before a kill


@contextmanager
def building(target: str | os.PathLike) -> Iterator[Path]:
    """A new hidden folder beside `target` to build into; removed if the block raises (or is interrupted)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.building-"))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private to its owner
    (tmp / _INCOMPLETE).write_text("a temporary build folder of emerge; removed by the next run\n")
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if tmp.exists():  # not published (publish renames it away)
        shutil.rmtree(tmp, ignore_errors=True)


def publish(
    tmp: str | os.PathLike,
    target: str | os.PathLike,
    kind: str | Iterable[str],
    *,
    keep_concurrent: bool = False,
    what: str = "output folder",
) -> Path:
    """Swap the finished folder `tmp` (with its manifest written) in as `target`.

    An existing `target` must be replaceable (`ensure_replaceable`); it is moved aside and its listed
    files deleted. keep_concurrent: when `target` already holds a whole folder with the same kind and
    key (another process finished first), keep that one and drop `tmp`.
    """
    tmp, target = Path(tmp), Path(target)
    ours = read_manifest(tmp)
    if ours is None:
        raise RuntimeError(f"publish({tmp}): write the manifest before publishing")
    if keep_concurrent:
        there = read_manifest(target) if target.is_dir() else None
        if (
            there is not None
            and (there.kind, there.key) == (ours.kind, ours.key)
            and not verify(target, there)
        ):
            logger.info("another process finished %s first; keeping its copy", target)
            shutil.rmtree(tmp, ignore_errors=True)
            return target
    ensure_replaceable(target, kind, what)
    (tmp / _INCOMPLETE).unlink(missing_ok=True)
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.rmdir(old)
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        _delete_listed(old)
    return target


def reusable(target: str | os.PathLike, kind: str, format_version: int, key: str | None) -> Manifest | None:
    """The manifest of `target` if it is a whole `kind` folder of this format made with `key`, else None.

    A folder that matches but was damaged since (a file missing, truncated or edited) is reported in
    the log and not reusable.
    """
    target = Path(target)
    manifest = read_manifest(target) if target.is_dir() else None
    if manifest is None or (manifest.kind, manifest.format_version, manifest.key) != (
        kind,
        format_version,
        key,
    ):
        return None
    problems = verify(target, manifest)
    if problems:
        logger.warning("%s is damaged (%s); building it again", target, "; ".join(problems[:3]))
        return None
    return manifest


def cached_step(
    target: str | os.PathLike,
    kind: str,
    format_version: int,
    key: str | None,
    build: Callable[[Path], Mapping[str, Any] | None],
    *,
    force: bool = False,
    keep_concurrent: bool = False,
    what: str = "output folder",
) -> StepResult:
    """Reuse `target` if it is a whole `kind` folder made with `key`; else build it with `build(tmp)`.

    `build` writes its files into the empty folder `tmp` and may return a JSON-able mapping stored as
    the manifest's `info`. The target is checked to be replaceable before `build` runs, so a wrong
    `--out` fails at once. force: rebuild even when up to date.
    """
    target = Path(target)
    clean_leftovers(target)
    if not force:
        manifest = reusable(target, kind, format_version, key)
        if manifest is not None:
            logger.debug("%s is up to date (key %s)", target, key)
            return StepResult(target, manifest, reused=True)
    ensure_replaceable(target, kind, what)
    with building(target) as tmp:
        info = build(tmp) or {}
        manifest = write_manifest(tmp, kind, format_version, key, info)
        publish(tmp, target, kind, keep_concurrent=keep_concurrent, what=what)
    final = read_manifest(target) or manifest
    return StepResult(target, final, reused=False)


# ------------------------------------------------------------------------------------- single files
def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}.emerge.json")


def check_file_replaceable(
    path: str | os.PathLike, what: str = "output file", *, growing: bool = False
) -> None:
    """Raise unless the file `path` is absent or was written by us (its sidecar records its content).

    growing: the file is appended to over time (a resumable JSONL); the sidecar proves ownership but the
    content is not compared.
    """
    path = Path(path)
    if path.is_dir():
        raise UserInputError(f"{what} {path} is a folder; pass a file path")
    if not path.exists():
        return
    try:
        body = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        body = None
    ours = isinstance(body, dict) and body.get("owner") == _OWNER
    if ours and (growing or body.get("growing") or body.get("sha256") == content_digest(path)):
        return
    reason = "was changed since emerge wrote it" if ours else "was not written by emerge"
    raise UserInputError(
        f"{what} {path} exists and {reason}; refusing to overwrite it. Pass a new file path, "
        f"or move that file away first."
    )


def check_output_file(path: str | os.PathLike, what: str = "output file", *, growing: bool = False) -> Path:
    """Check an output file path before any work: creatable, and replaceable if it exists."""
    path = Path(path)
    check_file_replaceable(path, what, growing=growing)
    if not path.exists():
        _check_creatable(path, what)
    return path


def record_owned_file(path: str | os.PathLike, *, growing: bool = False) -> None:
    """Write the sidecar that proves `path` is ours (with its sha256 unless it is a growing file)."""
    path = Path(path)
    body = {"owner": _OWNER, "growing": growing, "file": path.name}
    if not growing:
        body["sha256"] = content_digest(path)
    atomic_write_text(_sidecar(path), json.dumps(body) + "\n")


def write_owned_text(path: str | os.PathLike, text: str, what: str = "output file") -> Path:
    """Write `text` to `path` atomically, only if `path` is absent or ours; record it as ours."""
    path = Path(path)
    check_file_replaceable(path, what)
    atomic_write_text(path, text)
    record_owned_file(path)
    return path
