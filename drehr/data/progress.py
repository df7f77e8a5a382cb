"""Resumable example files: a small progress record beside the JSONL, so a rerun skips finished work
without reading the file.

A builder streams sources (notes; or prompt units) in a fixed order, splits each into anchors
(chunks, sections), processes the anchors in batches and appends their examples to `<out>`. After a
batch is on disk, `.<out name>.progress.json` records how far the stream is done:

    {"format_version": 1, "recipe": "stage1", "key": "...", "settings": {...}, "file": "stage1.jsonl",
     "anchors": 51200, "source": 812, "source_id": "10812", "index": 3, "anchor_id": "10812_3",
     "size": 73400321, "examples": 50011, "last_example_id": "10812_2"}

= the first 51,200 anchors of the stream are done, the last of them anchor 3 of source 812 (counted
from 0); their examples are the file's first 73,400,321 bytes, whose last line is example
"10812_2".

A rerun (the fast path) checks the record against the file: the same recipe and settings (else an
error: the file was built differently), the file at least `size` bytes long, and the line that ends
at byte `size` has the recorded id. It cuts what was appended after `size` (a batch written after
the last record, or half a line: redone now), skips the first `source` sources without splitting
them, checks that source `source` is `source_id` and its anchor `index` is `anchor_id`, and goes on
from the next anchor. The output is never read beyond its last line.

When the record is missing (a file written before records existed), damaged, or does not fit the
file or the sources, the build warns and takes the slow path: it reads every id in the file and
skips those (the earlier behaviour). It writes a record again only once every id in the file has
been met in the stream, so a later fast resume never skips or repeats an example.

Records are written after a batch is flushed and fsynced, at most every `commit_every_s` seconds
(0: after every batch, what LLM recipes use), and when the build ends, with or without an error.
A kill loses at most the batches since the last record, which the rerun redoes.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Generic, TypeVar

from drehr.data.examples import ExampleWriter, TrainingExample, line_start, scan_ids
from foundation.artifacts import atomic_write_text, jsonable, stable_hash
from foundation.errors import UserInputError
from foundation.outputs import check_output_file

__all__ = [
    "FORMAT_VERSION",
    "Mark",
    "Progress",
    "BuildCounts",
    "ResumableJob",
    "progress_path",
    "run_resumable",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1

S = TypeVar("S")
A = TypeVar("A")


@dataclass(frozen=True)
class Mark:
    """Where an anchor sits in the stream: source number `source` (id `source_id`), anchor `index` of it."""

    source: int
    source_id: str
    index: int
    anchor_id: str


@dataclass(frozen=True)
class Progress:
    """The progress record of an examples file (see the module docstring)."""

    recipe: str
    key: str
    settings: Mapping[str, Any]
    file: str
    anchors: int
    mark: Mark
    size: int
    examples: int
    last_example_id: str | None
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        body = {k: v for k, v in asdict(self).items() if k != "mark"}
        return json.dumps({**body, **asdict(self.mark)}, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Progress:
        """Parse a record; ValueError (naming what is wrong) for anything else."""
        try:
            body = json.loads(text)
            if not isinstance(body, dict):
                raise TypeError("not a JSON object")
            last = body["last_example_id"]
            record = cls(
                recipe=str(body["recipe"]),
                key=str(body["key"]),
                settings=dict(body.get("settings") or {}),
                file=str(body["file"]),
                anchors=int(body["anchors"]),
                mark=Mark(
                    int(body["source"]), str(body["source_id"]), int(body["index"]), str(body["anchor_id"])
                ),
                size=int(body["size"]),
                examples=int(body["examples"]),
                last_example_id=None if last is None else str(last),
                format_version=int(body["format_version"]),
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{type(exc).__name__}: {exc}") from exc
        if min(record.anchors, record.size, record.examples, record.mark.source, record.mark.index) < 0:
            raise ValueError("negative count")
        return record


@dataclass
class BuildCounts:
    """What a build did: sources and anchors seen, anchors skipped (done before) and processed now,
    examples written now; `resume` = "new", "fast" (from the progress record) or "slow" (ids read)."""

    sources: int = 0
    anchors: int = 0
    skipped: int = 0
    processed: int = 0
    written: int = 0
    resume: str = "new"


def progress_path(out: str | os.PathLike) -> Path:
    """The progress record of the examples file `out`: `.<name>.progress.json` beside it."""
    out = Path(out)
    return out.with_name(f".{out.name}.progress.json")


class ProgressMismatch(Exception):
    """The progress record does not fit the sources: the build restarts on the slow path."""


@dataclass
class _Plan:
    mode: str  # "new", "fast" or "slow"
    start: Progress | None = None  # fast: where to go on from
    done: set[str] = field(default_factory=set)  # slow: ids in the file not met in the stream yet
    examples: int = 0
    last_example_id: str | None = None


def _check_file(out: Path, record: Progress) -> str | None:
    """Why `record` does not describe `out`'s first `record.size` bytes, or None when it does."""
    if record.file != out.name:
        return f"it was written for {record.file!r}"
    size = out.stat().st_size
    if size < record.size:
        return f"the file has {size} bytes, fewer than the {record.size} it records"
    if record.size == 0:
        return None if record.last_example_id is None and record.examples == 0 else "it records no bytes"
    with out.open("rb") as fh:
        fh.seek(record.size - 1)
        if fh.read(1) != b"\n":
            return f"byte {record.size} is not the end of a line"
        start = line_start(fh, record.size)
        fh.seek(start)
        line = fh.read(record.size - start)
    try:
        row_id = json.loads(line).get("id")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return f"the line ending at byte {record.size} is not an example"
    if row_id != record.last_example_id:
        return f"the line ending at byte {record.size} is {row_id!r}, not {record.last_example_id!r}"
    return None


def _slow(out: Path, why: str) -> _Plan:
    logger.warning(
        "%s: %s; resuming by reading every id already in the file (slow for a large file; a new "
        "progress record is written as the build goes on)",
        out,
        why,
    )
    progress_path(out).unlink(missing_ok=True)  # never trusted again
    done, examples, last = scan_ids(out)
    return _Plan("slow", done=done, examples=examples, last_example_id=last)


def _plan(out: Path, recipe: str, key: str, settings: Mapping[str, Any]) -> _Plan:
    record_path = progress_path(out)
    if not out.is_file():
        record_path.unlink(missing_ok=True)  # the record of a file since deleted
        return _Plan("new")
    try:
        text = record_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if out.stat().st_size == 0:
            return _Plan("new")
        return _slow(out, f"no progress record {record_path.name} (a file from an older version?)")
    except (OSError, UnicodeDecodeError) as exc:
        return _slow(out, f"its progress record {record_path} cannot be read ({exc})")
    try:
        record = Progress.from_json(text)
    except ValueError as exc:
        return _slow(out, f"its progress record {record_path} is damaged ({exc})")
    if record.format_version != FORMAT_VERSION:
        return _slow(out, f"its progress record has format {record.format_version}, not {FORMAT_VERSION}")
    if (record.recipe, record.key) != (recipe, key):
        now = jsonable(dict(settings))
        changed = {k: (record.settings.get(k), v) for k, v in now.items() if record.settings.get(k) != v}
        raise UserInputError(
            f"examples file {out} was built by {record.recipe!r} with other settings than this "
            f"{recipe!r} run (was -> now: {changed or record.settings}); pass a new output path, or "
            "delete the file to rebuild it"
        )
    problem = _check_file(out, record)
    if problem is not None:
        return _slow(out, f"its progress record {record_path} does not fit the file ({problem})")
    return _Plan("fast", start=record, examples=record.examples, last_example_id=record.last_example_id)


class _Output:
    """The examples file of one build: opened on the first write, records progress as batches land."""

    def __init__(
        self, out: Path, plan: _Plan, recipe: str, key: str, settings: Mapping[str, Any], every_s: float
    ) -> None:
        self.out, self.plan, self.every_s = out, plan, every_s
        self.recipe, self.key, self.settings = recipe, key, jsonable(dict(settings))
        self.writer: ExampleWriter | None = None
        self.examples, self.last_id = plan.examples, plan.last_example_id
        self.state: tuple[Mark, int] | None = None  # done so far: (last mark, anchors), not yet recorded
        self.last_commit = time.monotonic()

    def _open(self) -> ExampleWriter:
        if self.writer is None:
            start = self.plan.start
            self.writer = ExampleWriter(self.out, truncate_to=start.size if start is not None else None)
        return self.writer

    def write(self, examples: list[TrainingExample]) -> int:
        if not examples:
            return 0
        n = self._open().write(examples, sync=False)
        self.examples += n
        self.last_id = examples[-1].id
        return n

    def advance(self, mark: Mark, anchors: int) -> None:
        """Everything up to `mark` (`anchors` anchors) is written; record it if it is time."""
        self.state = (mark, anchors)
        if self.every_s <= 0 or time.monotonic() - self.last_commit >= self.every_s:
            self.commit()

    def commit(self) -> None:
        if self.state is None:
            return
        mark, anchors = self.state
        start = self.plan.start
        if start is not None and self.writer is None and anchors == start.anchors:
            return  # nothing new since the record
        size = self._open().sync()
        self.state = None
        self.last_commit = time.monotonic()
        if self.plan.done:  # ids of the file not met yet: a record would let a fast resume skip past them
            return
        record = Progress(
            self.recipe,
            self.key,
            self.settings,
            self.out.name,
            anchors,
            mark,
            size,
            self.examples,
            self.last_id,
        )
        atomic_write_text(progress_path(self.out), record.to_json())

    def close(self) -> None:
        try:
            self.commit()
        finally:
            if self.writer is not None:
                self.writer.close()


def _anchors(
    sources: Iterable[tuple[str, S]],
    split: Callable[[S], Sequence[A]],
    anchor_id: Callable[[A], str],
    after: Mark | None,
    limit_sources: int | None,
    seen: BuildCounts,
) -> Iterator[tuple[Mark, A]]:
    """(mark, anchor) of every anchor after `after`; sources before `after.source` are not split."""
    for pos, (source_id, source) in enumerate(sources):
        if limit_sources is not None and pos >= limit_sources:
            break
        seen.sources = pos + 1
        if after is not None and pos < after.source:
            continue
        anchors = split(source)
        first = 0
        if after is not None:  # pos == after.source: the source of the last anchor done
            if source_id != after.source_id or after.index >= len(anchors):
                raise ProgressMismatch(
                    f"source {pos} is {source_id!r} with {len(anchors)} anchors, but the record says "
                    f"{after.source_id!r} with anchor {after.index} done"
                )
            if anchor_id(anchors[after.index]) != after.anchor_id:
                raise ProgressMismatch(
                    f"anchor {after.index} of {source_id!r} is {anchor_id(anchors[after.index])!r}, "
                    f"not {after.anchor_id!r}"
                )
            first, after = after.index + 1, None
        for i in range(first, len(anchors)):
            yield Mark(pos, source_id, i, anchor_id(anchors[i])), anchors[i]
    if after is not None and (limit_sources is None or limit_sources > after.source):
        raise ProgressMismatch(f"the sources end before source {after.source} ({after.source_id!r})")


@dataclass(frozen=True)
class ResumableJob(Generic[S, A]):
    """What a resumable build makes and how: everything `run_resumable` needs besides the output path.

    `sources()` gives (id, source) pairs in a fixed order (called again if the build has to restart
    on the slow path); `split(source)` its anchors, each named by `anchor_id(anchor)`; `work(batch)`
    the examples of a batch of `batch_size` anchors (an anchor may give none). `recipe` and
    `settings` (JSON values) say what the examples depend on; a file built with others is refused.
    `limit` stops after the first `limit` anchors, `limit_sources` after the first `limit_sources`
    sources; the progress record is written at most every `commit_every_s` seconds (0: after every
    batch); `desc`, `unit` and `total` are the progress bar's. They travel as one object, so that a
    builder's call names every field and `run_resumable` passes one value to each pass it makes.
    """

    recipe: str
    settings: Mapping[str, Any]
    sources: Callable[[], Iterable[tuple[str, S]]]
    split: Callable[[S], Sequence[A]]
    anchor_id: Callable[[A], str]
    work: Callable[[list[A]], list[TrainingExample]]
    batch_size: int
    limit: int | None = None
    limit_sources: int | None = None
    commit_every_s: float = 0.0
    desc: str = "examples"
    unit: str = "anchor"
    total: int | None = None


def run_resumable(out_path: str | os.PathLike, job: ResumableJob[S, A]) -> BuildCounts:
    """Build (or resume) the examples file `out_path` as `job` describes (see `ResumableJob`)."""
    if job.batch_size <= 0:
        raise UserInputError(f"batch_size must be positive, got {job.batch_size}")
    out = Path(out_path)
    check_output_file(out, "examples file", growing=True)
    key = stable_hash(job.recipe, job.settings)
    plan = _plan(out, job.recipe, key, job.settings)
    try:
        return _run(plan, out, key, job)
    except ProgressMismatch as exc:  # raised before anything was written
        plan = _slow(out, f"its progress record does not fit the input ({exc})")
        return _run(plan, out, key, job)


def _run(plan: _Plan, out: Path, key: str, job: ResumableJob[S, A]) -> BuildCounts:
    """One pass of `run_resumable` along `plan`; `key` is the hash of the job's recipe and settings."""
    from tqdm.auto import tqdm

    counts = BuildCounts(resume=plan.mode)
    start = plan.start
    after = start.mark if start is not None else None
    consumed = start.anchors if start is not None else 0
    if start is not None and job.limit is not None and job.limit <= start.anchors:
        counts.anchors = counts.skipped = job.limit  # all asked for was done before
        return counts
    if start is not None and job.limit_sources is not None and job.limit_sources <= start.mark.source:
        for _, source in islice(job.sources(), job.limit_sources):  # all done before: count them, cheaply
            counts.sources += 1
            counts.anchors += len(job.split(source))
        counts.skipped = counts.anchors
        return counts
    if consumed:
        logger.info("%s: resuming after %d anchors (progress record %s)", out, consumed, progress_path(out))
    counts.skipped = consumed
    output = _Output(out, plan, job.recipe, key, job.settings, job.commit_every_s)
    stream = _anchors(job.sources(), job.split, job.anchor_id, after, job.limit_sources, counts)
    batch: list[A] = []
    last: Mark | None = None
    bar = tqdm(
        total=job.limit if job.limit is not None else job.total,
        initial=consumed,
        desc=job.desc,
        unit=job.unit,
        mininterval=5.0,
        smoothing=0.1,
    )

    def flush() -> None:
        if batch:
            counts.written += output.write(job.work(batch))
            counts.processed += len(batch)
            batch.clear()
        if last is not None:
            output.advance(last, consumed)

    try:
        if job.limit is None or consumed < job.limit:
            for mark, anchor in stream:
                consumed += 1
                last = mark
                if mark.anchor_id in plan.done:  # slow path: already in the file
                    plan.done.discard(mark.anchor_id)
                    counts.skipped += 1
                else:
                    batch.append(anchor)
                if len(batch) >= job.batch_size:
                    flush()
                bar.update(1)
                if job.limit is not None and consumed >= job.limit:
                    break
        flush()
    finally:
        bar.close()
        output.close()  # records the batches that landed, also when an error stops the build
    counts.anchors = counts.skipped + counts.processed
    return counts
