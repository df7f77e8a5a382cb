"""Retriever training data at MIMIC scale: stage I over >= 1M chunks in flat memory, and a cheap resume.

Generates a notes parquet once (numpy, cached under `--work`, default runs/bench_retriever_data/):
`--notes` notes of about `--words` words (900 words = 10-11 DR.EHR chunks of 100 words, 10
overlapping) drawn from ward filler words and 300 surface forms of the starter KG (3 % of the
words), written in row groups of 5,000 notes so the generator never holds the table. Then, each
step in its own subprocess (`drehr.data.files.build_stage1_file` on `scan_notes(parquet)` with the
starter KG and DR.EHR's expansions: what `emerge retriever build-stage1` runs):

1. full: an uninterrupted build; a sampling thread records wall time, RSS, anonymous (heap) RSS,
   the highest anonymous RSS since the previous line, and the peak RSS so far when the progress
   record passes 100k / 500k / 1M chunks, and at the end;
2. kill: a new build, SIGKILLed 1 s after its progress record passes `--kill-at` chunks;
3. resume: a rerun of the killed output with `--limit done + 1` (one new chunk), against a new
   build of 1 chunk (the fixed cost: matcher, first read); then `--resume-extra` more chunks, and
   the resumed file checked to be a byte prefix of the full build's output; a no-op rerun of the
   finished full output; `drehr.data.scan_ids` (the slow path: every example of the output parsed,
   what the previous version did on every rerun) timed on both files;
4. baseline (`--baseline-commit`, default 910f3b4, the commit before streaming; skipped when git
   or the commit is missing): that version's `drehr` (git archive into the work folder, put first on
   PYTHONPATH) builds the first `--baseline-chunks` chunks from `read_notes(parquet)`, and reruns
   on a copy of the killed output with one new chunk; its output must be a prefix of the full build's.

    python benchmarks/retriever_data.py --notes 105000 --words 900 --out benchmarks/results/retriever_data.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CHECKPOINTS = (100_000, 500_000, 1_000_000)
FILLER = (
    "the patient was admitted with and of to in on for at by from after before during today stable "
    "noted reported denies history physical exam vital signs labs imaging plan follow up medications "
    "discharged home daily twice mg given started continued held returned unit floor team family "
    "nursing evening morning overnight review ward breathing rate pressure normal mild moderate "
    "severe left right chest abdomen leg arm head tolerated diet walking seen again"
).split()


# ------------------------------------------------------------------------------------------ data
def make_notes(path: Path, n_notes: int, words: int, seed: int = 0) -> Path:
    """Write the notes parquet (skipped when it exists), `n_notes` x `words` draws, in row groups."""
    if path.is_file():
        return path
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kg.loading import open_graph_spec

    forms = sorted(
        t for t in open_graph_spec("starter").surface_forms() if t.isascii() and len(t.split()) <= 3
    )
    rng = np.random.default_rng(seed)
    terms = list(rng.choice(np.array(forms, dtype=object), size=300, replace=False))
    vocab = np.array(FILLER + terms, dtype=object)
    p = np.r_[np.full(len(FILLER), 0.97 / len(FILLER)), np.full(len(terms), 0.03 / len(terms))]
    schema = pa.schema([("note_id", pa.string()), ("subject_id", pa.string()), ("text", pa.string())])
    tmp = path.with_suffix(".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, n_notes, 5000):
            ids = range(start, min(start + 5000, n_notes))
            table = pa.table(
                {
                    "note_id": [f"{10_000_000 + i}-DS-1" for i in ids],
                    "subject_id": [str(10_000_000 + i // 3) for i in ids],
                    "text": [" ".join(rng.choice(vocab, size=words, p=p)) for _ in ids],
                },
                schema=schema,
            )
            writer.write_table(table)
    tmp.replace(path)
    return path


# ------------------------------------------------------------------------------------------ child side
def _anon_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(args: argparse.Namespace) -> None:
    """One measured step in this process; appends JSON lines to `args.report` as it goes."""
    import psutil

    t0 = time.perf_counter()
    report = Path(args.report)
    proc = psutil.Process()
    highest = {"all": 0.0, "since": 0.0}  # highest anonymous RSS sampled: overall, since the last checkpoint

    def emit(**row) -> None:
        row.update(rss_mb=proc.memory_info().rss / 2**20, anon_mb=_anon_mb(), peak_mb=_peak_mb())
        row.update(high_mb=max(highest["all"], row["anon_mb"]))
        with report.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")

    record = None
    stop = threading.Event()
    t_build = time.perf_counter()

    def sample() -> None:
        pending = list(CHECKPOINTS)
        while not stop.wait(0.2):
            anon = _anon_mb()
            highest["all"], highest["since"] = max(highest["all"], anon), max(highest["since"], anon)
            try:
                anchors = json.loads(record.read_text(encoding="utf-8"))["anchors"]
            except (AttributeError, OSError, ValueError, KeyError):
                continue
            while pending and anchors >= pending[0]:
                pending.pop(0)
                since, highest["since"] = highest["since"], 0.0
                emit(step="checkpoint", chunks=anchors, seconds=time.perf_counter() - t_build, since_mb=since)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        if args.step == "scan_ids":
            from drehr.data import scan_ids

            _, n, _ = scan_ids(args.out)
            emit(step="done", build_s=time.perf_counter() - t0, examples=n)
            return
        from drehr.data import Stage1Config, build_stage1_file
        from kg.loading import open_graph_spec

        kg = open_graph_spec("starter")
        emit(step="setup", seconds=time.perf_counter() - t0)
        t_build = time.perf_counter()
        if args.step == "baseline":  # the previous version: the whole table, then the builder
            from drehr.data import read_notes

            notes = read_notes(args.notes)
        else:
            from drehr.data import progress_path, scan_notes

            notes = scan_notes(args.notes)
            record = progress_path(args.out)
        counts = build_stage1_file(notes, kg, args.out, Stage1Config(seed=0), limit=args.limit, batch_size=64)
        build_s = time.perf_counter() - t_build
        size = Path(args.out).stat().st_size if Path(args.out).exists() else 0
        emit(step="done", build_s=build_s, counts=counts, size=size)
    finally:
        stop.set()
        thread.join()


# ------------------------------------------------------------------------------------------ parent side
def _spawn(
    step: str, notes: Path, out: Path, report: Path, limit: int | None = None, pythonpath: Path | None = None
) -> subprocess.Popen:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step, "--notes-file", str(notes)]
    cmd += ["--out-file", str(out), "--report", str(report)]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(pythonpath), env.get("PYTHONPATH")) if p)
    return subprocess.Popen(cmd, env=env, cwd=HERE.parent)


def _rows(report: Path) -> list[dict]:
    if not report.is_file():
        return []
    return [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines() if line.strip()]


class Step(dict):
    """A finished step: its report lines, `done` (the last one) and `wall` (the process's wall seconds)."""

    @property
    def done(self) -> dict:
        return next(r for r in self["rows"] if r["step"] == "done")


def _step(
    step: str, notes: Path, out: Path, work: Path, name: str, limit: int | None = None, pythonpath=None
) -> Step:
    report = work / f"{name}.report.jsonl"
    report.unlink(missing_ok=True)
    t = time.perf_counter()
    rc = _spawn(step, notes, out, report, limit, pythonpath).wait()
    if rc != 0:
        raise SystemExit(f"step {name} failed (exit {rc})")
    result = Step(rows=_rows(report), wall=time.perf_counter() - t)
    print(f"{name}: {result.done}", flush=True)
    return result


def _kill_at(notes: Path, out: Path, work: Path, at: int) -> dict:
    from drehr.data import progress_path

    report = work / "kill.report.jsonl"
    report.unlink(missing_ok=True)
    t = time.perf_counter()
    proc = _spawn("build", notes, out, report)
    record = progress_path(out)
    while proc.poll() is None:
        time.sleep(0.1)
        try:
            if json.loads(record.read_text(encoding="utf-8"))["anchors"] >= at:
                time.sleep(1.0)  # land between two progress records, with batches written after the last
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                break
        except (OSError, ValueError, KeyError):
            continue
    else:
        raise SystemExit(f"the kill run finished before {at} chunks; lower --kill-at")
    body = json.loads(record.read_text(encoding="utf-8"))
    return {
        "seconds": time.perf_counter() - t,
        "done": body["anchors"],
        "record_size": body["size"],
        "file_size": out.stat().st_size,
        "examples": body["examples"],
    }


def _sidecars(out: Path) -> list[Path]:
    from drehr.data import progress_path

    return [progress_path(out), out.with_name(f".{out.name}.emerge.json")]


def _clear(out: Path) -> None:
    for p in (out, *_sidecars(out)):
        p.unlink(missing_ok=True)


def _copy(src: Path, dst: Path) -> None:
    _clear(dst)
    shutil.copyfile(src, dst)
    shutil.copyfile(_sidecars(src)[1], _sidecars(dst)[1])  # the ownership sidecar, no progress record


def _is_prefix(part: Path, whole: Path) -> bool:
    if part.stat().st_size > whole.stat().st_size:
        return False
    with part.open("rb") as a, whole.open("rb") as b:
        while x := a.read(1 << 24):
            if x != b.read(len(x)):
                return False
    return True


def _previous_drehr(commit: str, work: Path) -> Path | None:
    """`drehr` as of `commit`, extracted under `work` (None when git or the commit is missing)."""
    root = work / f"drehr_{commit}"
    if (root / "drehr" / "__init__.py").is_file():
        return root
    archive = work / f"drehr_{commit}.tar"
    try:
        subprocess.run(
            ["git", "archive", "--output", str(archive), commit, "drehr"],
            cwd=HERE.parent,
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"baseline skipped: cannot extract drehr at {commit} ({exc})", file=sys.stderr)
        return None
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    archive.unlink()
    return root


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def run(args: argparse.Namespace) -> str:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    load_before = _load()
    notes_path = work / f"notes_{args.notes}x{args.words}.parquet"
    cached = notes_path.is_file()
    t = time.perf_counter()
    notes = make_notes(notes_path, args.notes, args.words)
    gen_s = time.perf_counter() - t
    full, killed, fresh = work / "full.jsonl", work / "killed.jsonl", work / "fresh1.jsonl"
    old_full, old_killed = work / "baseline.jsonl", work / "baseline_killed.jsonl"
    for out in (full, killed, fresh, old_full, old_killed):
        _clear(out)

    steps: dict[str, Step] = {"full": _step("build", notes, full, work, "full")}
    kill = _kill_at(notes, killed, work, args.kill_at)
    print(f"kill: {kill}", flush=True)
    previous = _previous_drehr(args.baseline_commit, work) if args.baseline_chunks else None
    if previous is not None:
        _copy(killed, old_killed)
    steps["scan_killed"] = _step("scan_ids", notes, killed, work, "scan_ids_killed")
    steps["resume1"] = _step("build", notes, killed, work, "resume1", limit=kill["done"] + 1)
    steps["fresh1"] = _step("build", notes, fresh, work, "fresh1", limit=1)
    extra_limit = kill["done"] + 1 + args.resume_extra
    steps["extra"] = _step("build", notes, killed, work, "resume_extra", limit=extra_limit)
    prefix = _is_prefix(killed, full)
    steps["noop"] = _step("build", notes, full, work, "noop")
    steps["scan_full"] = _step("scan_ids", notes, full, work, "scan_ids_full")
    if previous is not None:
        steps["old_build"] = _step(
            "baseline", notes, old_full, work, "baseline", limit=args.baseline_chunks, pythonpath=previous
        )
        steps["old_resume"] = _step(
            "baseline",
            notes,
            old_killed,
            work,
            "baseline_resume",
            limit=kill["done"] + 1,
            pythonpath=previous,
        )
        old_prefix = _is_prefix(old_full, full)
    text = report(args, steps, kill, prefix, notes, gen_s, cached, load_before, _load())
    if previous is not None:
        text += baseline_report(args, steps, kill, old_prefix)
    return text


def report(args, steps, kill, prefix, notes, gen_s, cached, load_before, load_after) -> str:
    import platform

    import polars as pl

    done = steps["full"].done
    setup = next(r for r in steps["full"]["rows"] if r["step"] == "setup")
    counts = done["counts"]
    chunks = counts["chunks"]
    machine = (
        f"Machine: {os.cpu_count()} CPU cores, shared with another long benchmark; load average "
        f"(1 / 5 / 15 min) {load_before} before, {load_after} after. Python {platform.python_version()}, "
        f"polars {pl.__version__}."
    )
    data = (
        f"Notes: {args.notes:,} synthetic notes of {args.words} draws from ward filler words and 300 "
        "starter-KG surface forms (3 % of the draws; multi-word terms make a note 10-11 chunks), one parquet "
        f"file ({notes.stat().st_size / 2**20:,.0f} MB, row groups of 5,000 notes; "
        + ("cached from an earlier run" if cached else f"generated in {gen_s:.0f} s")
        + "). KG: the bundled starter KG (89,626 nodes, 119,702 surface forms). Each step runs in its own "
        "process: `build_stage1_file(scan_notes(parquet), starter KG, out)`, what `emerge retriever "
        "build-stage1` runs (DR.EHR's expansions, batch 64, progress recorded every 2 s)."
    )
    command = (
        f"`python benchmarks/retriever_data.py --notes {args.notes} --words {args.words} "
        f"--kill-at {args.kill_at} --resume-extra {args.resume_extra} "
        f"--baseline-chunks {args.baseline_chunks}`"
    )
    lines = [
        f"# Retriever training data at MIMIC scale: stage I over {chunks:,} chunks",
        "",
        f"{machine} {data} Command: {command}.",
        "",
        "## Memory stays flat",
        "",
        "| chunks done | wall s | chunks/s | RSS (MB) | anon RSS (MB) | highest anon RSS since the row "
        "above (MB) | peak RSS so far (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| 0 (starter KG loaded, {setup['seconds']:.1f} s) | | | {setup['rss_mb']:,.0f} "
        f"| {setup['anon_mb']:,.0f} | | {setup['peak_mb']:,.0f} |",
    ]
    for r in steps["full"]["rows"]:
        if r["step"] == "checkpoint":
            rate = r["chunks"] / r["seconds"]
            lines.append(
                f"| {r['chunks']:,} | {r['seconds']:.0f} | {rate:,.0f} | {r['rss_mb']:,.0f} "
                f"| {r['anon_mb']:,.0f} | {r['since_mb']:,.0f} | {r['peak_mb']:,.0f} |"
            )
    rate = chunks / done["build_s"]
    lines += [
        f"| {chunks:,} (end) | {done['build_s']:.0f} | {rate:,.0f} | {done['rss_mb']:,.0f} "
        f"| {done['anon_mb']:,.0f} | | {done['peak_mb']:,.0f} |",
        "",
        f"{counts['written']:,} examples written ({done['size'] / 2**30:.2f} GiB of JSONL); "
        f"{counts['without_concepts']:,} chunks without a KG term; {counts['concepts']:,} concepts.",
        "",
        "## Resume after a kill",
        "",
        f"A new build was killed (SIGKILL) 1 s after its progress record passed {args.kill_at:,} chunks "
        f"({kill['seconds']:.0f} s in): the record said {kill['done']:,} chunks done, "
        f"{kill['examples']:,} examples in the first {kill['record_size']:,} bytes; the file had "
        f"{kill['file_size'] - kill['record_size']:,} more bytes (batches written after the last record: "
        "cut and redone by the rerun).",
        "",
        "| step | s in the call | process wall s | highest anon RSS (MB) | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|",
    ]

    def row(name: str, key: str) -> str:
        d = steps[key].done
        return (
            f"| {name} | {d['build_s']:.1f} | {steps[key]['wall']:.1f} | {d['high_mb']:,.0f} "
            f"| {d['peak_mb']:,.0f} |"
        )

    extra = steps["extra"].done["counts"]
    lines += [
        row("new build of 1 chunk (the fixed cost: matcher built, first notes read)", "fresh1"),
        row(
            f"rerun after the kill, 1 new chunk (record checked, {kill['done']:,} chunks skipped)", "resume1"
        ),
        row(f"rerun to {args.resume_extra:,} more chunks", "extra"),
        row(f"no-op rerun of the finished {chunks:,}-chunk output", "noop"),
        row(
            "slow path on the killed output: `scan_ids` parses all "
            f"{steps['scan_killed'].done['examples']:,} examples (what every rerun did before)",
            "scan_killed",
        ),
        row(
            f"slow path on the finished output: `scan_ids`, {steps['scan_full'].done['examples']:,} examples",
            "scan_full",
        ),
        "",
        f"- The resumed output ({extra['chunks']:,} chunks: {extra['skipped']:,} skipped, "
        f"{extra['processed']:,} processed) is {'a byte-for-byte prefix' if prefix else 'NOT a prefix'} "
        "of the uninterrupted build's output: the same examples in the same order, none lost or repeated.",
    ]
    return "\n".join(lines) + "\n"


def baseline_report(args, steps, kill, old_prefix) -> str:
    old, old_resume, new = steps["old_build"].done, steps["old_resume"].done, steps["full"]
    at = next((r for r in new["rows"] if r["step"] == "checkpoint"), None)
    n = old["counts"]["chunks"]
    lines = [
        "",
        f"## Baseline: the previous version (commit {args.baseline_commit})",
        "",
        "Same notes, KG and settings; it reads the whole notes table (`read_notes`), lists every chunk to "
        "do, and on a rerun parses the whole output (`completed_ids`, `readlines`) to skip the done ids.",
        "",
        "| step | s in the call | chunks/s | highest anon RSS (MB) | peak RSS (MB) | this version |",
        "|---|---:|---:|---:|---:|---|",
        f"| build of the first {n:,} chunks | {old['build_s']:.0f} | {n / old['build_s']:,.0f} "
        f"| {old['high_mb']:,.0f} | {old['peak_mb']:,.0f} | "
        + (
            f"{at['chunks']:,} chunks in {at['seconds']:.0f} s ({at['chunks'] / at['seconds']:,.0f}/s), "
            f"highest anon RSS {at['since_mb']:,.0f} MB, peak RSS {at['peak_mb']:,.0f} MB |"
            if at
            else "|"
        ),
        f"| rerun of the killed output ({kill['done']:,} chunks done), 1 new chunk | "
        f"{old_resume['build_s']:.1f} | | {old_resume['high_mb']:,.0f} | {old_resume['peak_mb']:,.0f} "
        f"| {steps['resume1'].done['build_s']:.1f} s, highest anon RSS "
        f"{steps['resume1'].done['high_mb']:,.0f} MB, peak RSS {steps['resume1'].done['peak_mb']:,.0f} MB |",
        "",
        f"- Its {n:,}-chunk output is {'a byte-for-byte prefix' if old_prefix else 'NOT a prefix'} of this "
        "version's output: the examples are the same, in the same order.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notes", type=int, default=105_000, help="synthetic notes (default 105,000)")
    parser.add_argument("--words", type=int, default=900, help="word draws per note (900: 10-11 chunks)")
    parser.add_argument("--kill-at", type=int, default=200_000, help="chunks done before the kill")
    parser.add_argument("--resume-extra", type=int, default=50_000, help="chunks the resumed run adds")
    parser.add_argument("--baseline-commit", default="910f3b4", help="the previous version to compare with")
    parser.add_argument(
        "--baseline-chunks", type=int, default=100_000, help="chunks the previous version builds (0: skip it)"
    )
    parser.add_argument("--work", default="runs/bench_retriever_data")
    parser.add_argument("--out", default=None, help="write the markdown report here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--notes-file", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out-file", dest="out_path", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--report", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step = argparse.Namespace(
            step=args.child, notes=args.notes_file, out=args.out_path, report=args.report, limit=args.limit
        )
        child(step)
        return
    text = run(args)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
