"""Benchmark: ChunkIndex (IVF) against exact search (faiss IndexFlatIP), and single-patient search
against a full-corpus scan + filter, on 1M x 384 clustered unit vectors.

    .venv/bin/python benchmarks/index.py [--n 1000000] [--threads 2] [--out benchmarks/results/index.md]

Prints a markdown report (also written to --out). Goals (issue 4, section 9): recall@10 >= 0.95 at
>= 1,000 queries/s on 2 cores; single-patient search < 1 ms for a patient with 200 chunks.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import faiss
import numpy as np

from drehr.index import ChunkIndex, IndexConfig
from foundation.artifacts import atomic_write_text


def clustered(rng: np.random.Generator, n: int, d: int, centers: np.ndarray, noise: float) -> np.ndarray:
    """`n` unit vectors: a random center plus Gaussian noise, L2-normalized. [n, d] float32."""
    out = np.empty((n, d), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = centers[rng.integers(0, len(centers), m)] + noise * rng.standard_normal(
            (m, d), dtype=np.float32
        )
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def recall_at(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=384)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--nlist", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--noise", type=float, default=0.6, help="per-dimension noise around the cluster centers"
    )
    parser.add_argument("--out", default="benchmarks/results/index.md")
    args = parser.parse_args()
    faiss.omp_set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    centers = rng.standard_normal((4096, args.d), dtype=np.float32)
    xb = clustered(rng, args.n, args.d, centers, noise=args.noise)
    xq = clustered(rng, args.queries, args.d, centers, noise=args.noise)
    patients = rng.permutation(
        np.repeat(np.arange(args.n // 200), 200)[: args.n]
    )  # 200 chunks each, scattered
    lines = [
        f"# Index benchmark: {args.n:,} x {args.d} clustered unit vectors, {args.queries} queries, "
        f"{args.threads} threads, noise {args.noise} (faiss {faiss.__version__})",
        "",
        f"Data generated in {time.perf_counter() - t0:.1f} s. "
        "Command: `.venv/bin/python benchmarks/index.py`.",
        "",
    ]

    flat = faiss.IndexFlatIP(args.d)
    flat.add(xb)
    t = time.perf_counter()
    _, truth = flat.search(xq, 10)
    flat_qps = args.queries / (time.perf_counter() - t)
    del flat

    t = time.perf_counter()
    index = ChunkIndex(
        args.d, "synthetic", IndexConfig(kind="ivf", nlist=args.nlist, train_size=40 * args.nlist)
    )
    ids = np.char.add("c", np.arange(args.n).astype(str)).tolist()
    pids = patients.astype(str).tolist()
    for start in range(0, args.n, 100_000):
        index.add(ids[start : start + 100_000], pids[start : start + 100_000], xb[start : start + 100_000])
    index.finalize()
    build_s = time.perf_counter() - t

    lines += [
        "## Multi-patient top-10: IVF (ChunkIndex) vs exact (IndexFlatIP)",
        "",
        f"IVFFlat, nlist={args.nlist}, trained on {40 * args.nlist:,} vectors; built in {build_s:.0f} s.",
        "",
        "| search | nprobe | recall@10 vs exact | queries/s |",
        "|---|---|---|---|",
        f"| exact IndexFlatIP (baseline) | - | 1.000 | {flat_qps:,.0f} |",
    ]
    for nprobe in (4, 8, 16, 32, 64, 128):
        index.set_nprobe(nprobe)
        index.search(xq[:50], k=10)  # warm-up
        t = time.perf_counter()
        hits = index.search(xq, k=10)
        qps = args.queries / (time.perf_counter() - t)
        lines.append(f"| ChunkIndex IVF | {nprobe} | {recall_at(hits.rows, truth, 10):.3f} | {qps:,.0f} |")

    lines += [
        "",
        "## Single-patient search (a patient with 200 chunks), one query at a time",
        "",
        "| method | median latency (ms) | p95 (ms) | same ranking |",
        "|---|---|---|---|",
    ]
    chosen = [str(p) for p in rng.choice(args.n // 200, 100, replace=False)]
    ours, base, same = [], [], True
    for i, pid in enumerate(chosen):
        q = xq[i]
        index.search_patient(pid, q)  # warm
        t = time.perf_counter()
        hit = index.search_patient(pid, q)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        scores = xb @ q  # full-corpus scan
        rows = np.flatnonzero(patients == int(pid))  # then filter to the patient
        ranked = rows[np.argsort(-scores[rows], kind="stable")]
        base.append(time.perf_counter() - t)
        same &= hit.rows[0].tolist() == ranked.tolist()
    for name, times in (
        ("ChunkIndex.search_patient (per-patient rows)", ours),
        ("full-corpus scan + filter (baseline)", base),
    ):
        ms = np.array(times) * 1000
        lines.append(f"| {name} | {np.median(ms):.3f} | {np.percentile(ms, 95):.3f} | {same} |")
    lines += ["", f"Total benchmark time {time.perf_counter() - t0:.0f} s."]
    report = "\n".join(lines) + "\n"
    print(report)
    atomic_write_text(Path(args.out), report)


if __name__ == "__main__":
    main()
