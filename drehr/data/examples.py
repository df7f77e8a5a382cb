"""Training examples for the retriever and their resumable JSONL files.

Every recipe (stage I knowledge injection, stage II synthetic entities, QA pairs) produces the same
record, and training reads the same record: an anchor text (a note chunk or section), its positive
texts, optionally one integer label per positive, and an id. Positives that denote the same concept
share a label, so the loss can mask a false negative (the same concept among another anchor's
positives). JSON lines: `{"id": ..., "anchor": ..., "positives": [...], "labels": [...]}`; only
"anchor" and "positives" are required.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from foundation.errors import UserInputError
from foundation.inputs import reading
from foundation.outputs import check_output_file, record_owned_file

__all__ = [
    "TrainingExample",
    "concept_label",
    "ExampleWriter",
    "read_examples",
    "scan_ids",
    "completed_ids",
]

logger = logging.getLogger(__name__)

_BLOCK = 1 << 16  # bytes read at a time when looking for the start of a file's last line

_EXPECTED = (
    'expected a JSON object with "anchor" (str), "positives" (list of str) and optionally '
    '"labels" (list of int, one per positive) and "id" (str)'
)


def concept_label(key: str) -> int:
    """A stable non-negative 63-bit integer for a concept key (a KG node id or a normalized string).

    Stable across processes and runs (unlike `hash`), so labels written by different workers agree.
    """
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


@dataclass(frozen=True)
class TrainingExample:
    """One anchor with its positives.

    `labels[i]` is the concept label of `positives[i]`; `None` when not known (training then groups
    positives by their normalized strings only). `id` names the anchor (a chunk or section id) in a
    builder's output, so a resumed build can skip it; examples built in memory may leave it empty.
    """

    anchor: str
    positives: tuple[str, ...]
    labels: tuple[int, ...] | None = None
    id: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        name = f"example {self.id!r}" if self.id else f"anchor {self.anchor[:60]!r}"
        if not self.anchor.strip():
            raise UserInputError(f"{name} has an empty anchor text; drop it from the data")
        if not self.positives:
            raise UserInputError(f"{name} has no positives; every anchor needs at least one")
        if self.labels is not None and len(self.labels) != len(self.positives):
            raise UserInputError(
                f"{name}: {len(self.labels)} labels for {len(self.positives)} positives; "
                "give one label per positive or none"
            )

    def to_json(self) -> str:
        row: dict[str, object] = {"id": self.id, "anchor": self.anchor, "positives": list(self.positives)}
        if self.labels is not None:
            row["labels"] = list(self.labels)
        return json.dumps(row, ensure_ascii=False)


def _parse(line: str, path: Path, lineno: int) -> TrainingExample:
    try:
        row = json.loads(line)
        if not isinstance(row, dict):
            raise TypeError(f"a JSON {type(row).__name__}, not an object")
        positives = row["positives"]
        labels, row_id = row.get("labels"), row.get("id")
        if isinstance(positives, str) or isinstance(labels, str):  # tuple("abc") would give ("a", "b", "c")
            raise TypeError('"positives" and "labels" must be lists, not strings')
        return TrainingExample(
            anchor=str(row["anchor"]),
            positives=tuple(str(p) for p in positives),
            # [] is how files without labels were written before labels became optional
            labels=tuple(int(x) for x in labels) if labels else None,
            id=str(lineno) if row_id is None or row_id == "" else str(row_id),
        )
    except UserInputError as exc:
        raise UserInputError(f"{path}:{lineno}: {exc}") from exc
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UserInputError(
            f"{path}:{lineno}: not a training example ({type(exc).__name__}: {exc}); {_EXPECTED}"
        ) from exc


def _complete(line: str) -> bool:
    """True when a last line without a newline is nevertheless a whole JSON value (a kill can stop
    the writer between the object and its newline)."""
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def read_examples(path: str | os.PathLike) -> Iterator[TrainingExample]:
    """Stream examples from a JSONL file, in file order, one line in memory at a time.

    Missing labels stay `None`; a missing id is the line number. A last line cut off mid-write (a
    builder killed; no newline and not valid JSON) is skipped with a warning; any other bad line is
    an error naming `file:line`.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(
            f"training data {path} not found; build it first (see `emerge retriever --help`) "
            'or pass a JSONL file of {"anchor": str, "positives": [str], "labels": [int]} lines'
        )
    with reading(path, "training data"), path.open(encoding="utf-8") as fh:
        following = fh.readline()
        lineno = 0
        while following:
            line, following = following, fh.readline()
            lineno += 1
            if not line.strip():
                continue
            if not following and not line.endswith("\n") and not _complete(line):
                logger.warning(
                    "%s:%d: skipping a half-written last line (a build killed mid-write; a rerun of the "
                    "build redoes it)",
                    path,
                    lineno,
                )
                break
            yield _parse(line, path, lineno)


def scan_ids(path: str | os.PathLike) -> tuple[set[str], int, str | None]:
    """(ids, number of examples, id of the last one) of an examples file, read line by line.

    What a resumed build reads when it has no usable progress record (`drehr.data.progress`): the
    whole file, so it is the slow path.
    """
    path = Path(path)
    ids: set[str] = set()
    count, last = 0, None
    if path.is_file():
        for ex in read_examples(path):
            ids.add(ex.id)
            count, last = count + 1, ex.id
    return ids, count, last


def completed_ids(path: str | os.PathLike) -> set[str]:
    """Ids already written to `path` (whole lines only); reads the whole file (see `scan_ids`)."""
    return scan_ids(path)[0]


def line_start(fh: BinaryIO, end: int) -> int:
    """Offset of the first byte of the line holding byte `end - 1` of the binary file `fh` (0 when it
    is the first line): found by reading backwards in blocks, never the whole file."""
    pos = end
    while pos > 0:
        step = min(_BLOCK, pos)
        fh.seek(pos - step)
        block = fh.read(step)
        cut = block.rfind(b"\n", 0, step - 1 if pos == end else step)
        if cut >= 0:
            return pos - step + cut + 1
        pos -= step
    return 0


class ExampleWriter:
    """Append examples to a JSONL file, flushing each batch, so a killed run keeps what it wrote.

    A half-written last line left by a kill is cut off when the writer opens the file again (a whole
    one that only lacks its newline gets it); with `truncate_to` the file is cut to that many bytes
    instead (a resumed build drops what it wrote after its last progress record). An existing file is
    appended to only if emerge created it (`foundation.outputs`: its sidecar `.<name>.emerge.json`);
    a file of yours at that path is refused, never changed. Every example needs an id (what a
    resumed run skips).
    """

    def __init__(self, path: str | os.PathLike, *, truncate_to: int | None = None) -> None:
        self.path = Path(path)
        check_output_file(self.path, "examples file", growing=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if truncate_to is not None:
            self._truncate(truncate_to)
        else:
            self._repair_last_line()
        self._fh = self.path.open("a", encoding="utf-8")
        record_owned_file(self.path, growing=True)

    def _truncate(self, size: int) -> None:
        current = self.path.stat().st_size if self.path.is_file() else 0
        if size > current:
            raise ValueError(f"cannot cut {self.path} ({current} bytes) to {size} bytes")
        if size < current:
            with self.path.open("r+b") as fh:
                fh.truncate(size)

    def _repair_last_line(self) -> None:
        if not self.path.is_file():
            return
        size = self.path.stat().st_size
        if size == 0:
            return
        with self.path.open("r+b") as fh:
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            keep = line_start(fh, size)
            fh.seek(keep)
            if _complete(fh.read(size - keep).decode("utf-8", errors="replace")):
                fh.seek(size)
                fh.write(b"\n")  # read_examples counted it as written: keep it
            else:
                fh.truncate(keep)

    def write(self, examples: Iterable[TrainingExample], sync: bool = True) -> int:
        """Append `examples`; with `sync`, flush them to disk (else `sync()` does it later).
        Return how many were written."""
        batch = list(examples)
        for ex in batch:
            if not ex.id:
                raise UserInputError(
                    f"example with anchor {ex.anchor[:60]!r} has no id; an examples file needs "
                    "one per anchor (its chunk or section id), so a resumed build can skip it"
                )
        self._fh.write("".join(ex.to_json() + "\n" for ex in batch))
        if sync:
            self.sync()
        return len(batch)

    def sync(self) -> int:
        """Flush everything written to disk; return the file's size in bytes."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return os.fstat(self._fh.fileno()).st_size

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ExampleWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
