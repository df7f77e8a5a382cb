"""Training examples for the retriever and their resumable JSONL files.

Every recipe (stage I knowledge injection, stage II synthetic entities, QA pairs) produces the same
record: an anchor text (a note chunk or section), its positive texts, and one integer label per
positive. Positives that denote the same concept share a label, so the loss can mask a false negative
(the same concept among another anchor's positives). JSON lines:
`{"id": ..., "anchor": ..., "positives": [...], "labels": [...]}`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from foundation.errors import UserInputError
from foundation.inputs import reading
from foundation.outputs import check_output_file, record_owned_file

__all__ = ["TrainingExample", "concept_label", "ExampleWriter", "read_examples", "completed_ids"]


def concept_label(key: str) -> int:
    """A stable non-negative 63-bit integer for a concept key (a KG node id or a normalized string).

    Stable across processes and runs (unlike `hash`), so labels written by different workers agree.
    """
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


@dataclass(frozen=True)
class TrainingExample:
    """One anchor with its positives; `labels[i]` is the concept label of `positives[i]`."""

    id: str
    anchor: str
    positives: tuple[str, ...]
    labels: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.anchor.strip():
            raise UserInputError(f"example {self.id!r} has an empty anchor text")
        if self.labels and len(self.labels) != len(self.positives):
            raise UserInputError(
                f"example {self.id!r}: {len(self.positives)} positives but {len(self.labels)} labels; "
                "give one label per positive or none"
            )

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "anchor": self.anchor, "positives": list(self.positives),
                           "labels": list(self.labels)}, ensure_ascii=False)


def _parse(line: str, path: Path, lineno: int) -> TrainingExample:
    try:
        row = json.loads(line)
        positives = tuple(str(p) for p in row["positives"])
        labels = tuple(int(x) for x in row.get("labels") or ()) or tuple(concept_label(p.lower()) for p in positives)
        return TrainingExample(str(row.get("id", lineno)), str(row["anchor"]), positives, labels)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UserInputError(
            f"{path}:{lineno}: not a training example ({exc}); expected a JSON object with "
            '"anchor" (str), "positives" (list of str) and optionally "labels" (list of int)'
        ) from exc


def read_examples(path: str | os.PathLike) -> Iterator[TrainingExample]:
    """Stream examples from a JSONL file; missing labels default to the lower-cased string's label.

    A truncated last line (a run killed mid-write) is skipped, any other bad line is an error.
    """
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"training data {path} not found; build it first (see `emerge retriever --help`)")
    with reading(path, "training data"), path.open(encoding="utf-8") as fh:
        lines = fh.readlines()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if lineno == len(lines) and not line.endswith("\n"):
            break  # half-written last line from an interrupted run
        yield _parse(line, path, lineno)


def completed_ids(path: str | os.PathLike) -> set[str]:
    """Ids already written to `path` (complete lines only): what a resumed run can skip."""
    path = Path(path)
    if not path.is_file():
        return set()
    return {ex.id for ex in read_examples(path)}


class ExampleWriter:
    """Append examples to a JSONL file, flushing each batch, so a killed run keeps what it wrote.

    A half-written last line left by a kill is cut off when the writer opens the file again. An
    existing file is appended to only if emerge created it (`foundation.outputs`: its sidecar
    `.<name>.emerge.json`); a file of yours at that path is refused, never changed.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        check_output_file(self.path, "examples file", growing=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._truncate_partial_line()
        self._fh = self.path.open("a", encoding="utf-8")
        record_owned_file(self.path, growing=True)

    def _truncate_partial_line(self) -> None:
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            with self.path.open("r+b") as fh:
                fh.truncate(keep)

    def write(self, examples: Iterable[TrainingExample]) -> int:
        n = 0
        for ex in examples:
            self._fh.write(ex.to_json() + "\n")
            n += 1
        self._fh.flush()
        os.fsync(self._fh.fileno())
        return n

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ExampleWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
