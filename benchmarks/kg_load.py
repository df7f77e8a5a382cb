"""Benchmark: load a PrimeKG-sized kg.csv (8.1M rows) and answer neighbour queries.

Ours: `kg.readers.read_primekg` (polars scan + CSR adjacency). Baseline: the straightforward
pandas.read_csv + networkx.MultiDiGraph load; on 2 shared cores and ~23 GB it cannot hold all
8.1M edges comfortably, so it runs on the first --baseline-rows rows and its time and memory are
extrapolated linearly (labelled as such). Each measurement runs in a fresh process so that its
peak RSS is its own. The synthetic file (129,375 nodes of PrimeKG's 10 types, 30 relations,
4,050,249 edges stored in both directions) is generated once into $EMERGE_CACHE/bench (or
~/.cache/emerge/bench).

    .venv/bin/python benchmarks/kg_load.py            # prints a markdown table
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

N_NODES, N_EDGES = 129_375, 4_050_249


def cache_path() -> Path:
    base = os.environ.get("EMERGE_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "emerge"
    return root / "bench" / "primekg_synthetic_8.1M.csv"


def generate(path: Path, seed: int = 0) -> None:
    import polars as pl

    from kg.schema import NODE_TYPES, PRIMEKG_COLUMNS, PRIMEKG_RELATIONS

    rng = np.random.default_rng(seed)
    types = np.array(NODE_TYPES)[rng.integers(0, len(NODE_TYPES), N_NODES)]
    sources = np.array(["NCBI", "DrugBank", "HPO", "MONDO", "GO", "GO", "GO", "CTD", "REACTOME", "UBERON"])
    src_of = dict(zip(NODE_TYPES, sources, strict=True))
    ids = np.array([str(i) for i in range(N_NODES)])
    names = np.array([f"node {i} {t.split('/')[0]}" for i, t in enumerate(types)])
    rels = np.array(sorted(PRIMEKG_RELATIONS))
    # power-law-ish degrees like a real KG
    x = (rng.pareto(1.2, N_EDGES) * 1000).astype(np.int64) % N_NODES
    y = rng.integers(0, N_NODES, N_EDGES)
    r = rng.integers(0, len(rels), N_EDGES)
    xi, yi = np.concatenate([x, y]), np.concatenate([y, x])
    rr = np.concatenate([r, r])
    df = pl.DataFrame(
        {
            "relation": rels[rr],
            "display_relation": rels[rr],
            "x_index": xi,
            "x_id": ids[xi],
            "x_type": types[xi],
            "x_name": names[xi],
            "x_source": np.vectorize(src_of.get)(types)[xi],
            "y_index": yi,
            "y_id": ids[yi],
            "y_type": types[yi],
            "y_name": names[yi],
            "y_source": np.vectorize(src_of.get)(types)[yi],
        }
    ).select(PRIMEKG_COLUMNS)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    df.write_csv(tmp)
    os.replace(tmp, path)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB on Linux


def run_ours(csv: Path, queries: int) -> dict:
    from kg.readers import read_primekg

    t = time.perf_counter()
    g = read_primekg(csv)
    load_s = time.perf_counter() - t
    rng = np.random.default_rng(1)
    ids = g.node_ids()
    picks = [ids[i] for i in rng.integers(0, len(g), queries)]
    t = time.perf_counter()
    total = sum(len(g.neighbors(n)) for n in picks)
    q_s = time.perf_counter() - t
    return {
        "rows": 2 * N_EDGES,
        "edges": g.num_edges,
        "nodes": len(g),
        "load_s": load_s,
        "rss_gb": peak_rss_gb(),
        "qps": queries / q_s,
        "mean_degree": total / queries,
    }


def run_baseline(csv: Path, rows: int, queries: int) -> dict:
    import networkx as nx
    import pandas as pd

    t = time.perf_counter()
    df = pd.read_csv(csv, nrows=rows, dtype={"x_id": str, "y_id": str})
    g = nx.MultiDiGraph()
    for side in ("x", "y"):
        nodes = df[[f"{side}_index", f"{side}_type", f"{side}_name"]].drop_duplicates(f"{side}_index")
        g.add_nodes_from((i, {"type": t, "name": n}) for i, t, n in nodes.itertuples(index=False))
    g.add_edges_from(zip(df["x_index"], df["y_index"], df["relation"], strict=True))
    load_s = time.perf_counter() - t
    rng = np.random.default_rng(1)
    node_list = list(g.nodes)
    picks = [node_list[i] for i in rng.integers(0, len(node_list), queries)]
    t = time.perf_counter()
    total = sum(len(list(g.successors(n))) for n in picks)
    q_s = time.perf_counter() - t
    return {
        "rows": len(df),
        "edges": g.number_of_edges(),
        "nodes": g.number_of_nodes(),
        "load_s": load_s,
        "rss_gb": peak_rss_gb(),
        "qps": queries / q_s,
        "mean_degree": total / queries,
    }


def child(part: str, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--part",
        part,
        "--baseline-rows",
        str(args.baseline_rows),
        "--queries",
        str(args.queries),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["ours", "baseline"], default=None)
    ap.add_argument("--baseline-rows", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=20_000)
    args = ap.parse_args()
    csv = cache_path()
    if args.part == "ours":
        print(json.dumps(run_ours(csv, args.queries)))
        return
    if args.part == "baseline":
        print(json.dumps(run_baseline(csv, args.baseline_rows, args.queries)))
        return
    if not csv.is_file():
        t = time.perf_counter()
        generate(csv)
        print(
            f"generated {csv} ({csv.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.0f} s",
            file=sys.stderr,
        )
    ours = child("ours", args)
    base = child("baseline", args)
    scale = ours["rows"] / base["rows"]
    print(
        f"Synthetic PrimeKG-sized kg.csv: {ours['rows']:,} rows, {ours['nodes']:,} nodes; "
        "2 shared CPU cores.\n"
    )
    print(
        "| loader | rows loaded | edges kept | load time (s) | peak RSS (GB) | neighbour queries/s "
        "| mean degree | neighbours returned/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, r in (("kg.read_primekg (polars + CSR)", ours), ("pandas + networkx MultiDiGraph", base)):
        print(
            f"| {label} | {r['rows']:,} | {r['edges']:,} | {r['load_s']:.1f} | {r['rss_gb']:.2f} | "
            f"{r['qps']:,.0f} | {r['mean_degree']:.1f} | {r['qps'] * r['mean_degree']:,.0f} |"
        )
    print(
        f"| pandas + networkx, extrapolated x{scale:.1f} to all rows | {ours['rows']:,} | - | "
        f"~{base['load_s'] * scale:.0f} | ~{base['rss_gb'] * scale:.1f} (linear; not run) | - | - | - |"
    )


if __name__ == "__main__":
    main()
