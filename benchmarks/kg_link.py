"""Benchmark: entity-linking throughput (and top-1 accuracy) with the bundled MiniLM on CPU.

Graph: a piece of the starter KG (the nodes within --hops hops of a few common ICU diagnoses),
so that embedding its surface forms fits in a few minutes on 2 shared cores. Mentions: node
names (exact path) and perturbed names (words shuffled, one word dropped; dense path), each
labelled with the node it came from. Ours: `kg.EntityLinker` (exact lookup, then FAISS top-1 over
MiniLM embeddings, threshold 0.0 so every mention gets its top-1). Baseline: rapidfuzz
`process.extractOne` (WRatio) over the same surface forms, a common fuzzy string linker.

    .venv/bin/python benchmarks/kg_link.py [--mentions 1000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SEEDS = ["I10", "E87.6", "E87.5", "N17.9", "J18.9", "A41.9", "I50.9", "J44.9"]


def perturb(name: str, rng: np.random.Generator) -> str:
    words = name.replace(",", " ").split()
    if len(words) > 2:
        words.pop(int(rng.integers(len(words))))
    rng.shuffle(words)
    return " ".join(words)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mentions", type=int, default=1000)
    ap.add_argument("--hops", type=int, default=2)
    args = ap.parse_args()

    from rapidfuzz import process
    from rapidfuzz.fuzz import WRatio

    from emerge.cli.kg import encoder_fn
    from kg.linking import EntityLinker
    from kg.starter import load_starter_kg

    graph = load_starter_kg().subgraph(SEEDS, k=args.hops)
    encoder = encoder_fn()
    rng = np.random.default_rng(0)
    picks = rng.choice(len(graph), size=min(args.mentions, len(graph)), replace=False)
    ids = graph.node_ids()
    gold = [ids[i] for i in picks]
    exact_mentions = [graph.name_of(n) for n in gold]
    fuzzy_mentions = [perturb(m, rng) for m in exact_mentions]

    t = time.perf_counter()
    linker = EntityLinker(graph, encoder, threshold=0.0)
    linker._ensure_index()
    build_s = time.perf_counter() - t

    def run(mentions):
        t = time.perf_counter()
        recs = linker.link(mentions)
        s = time.perf_counter() - t
        names = [graph.name_of(r["node_id"]).lower() for r in recs]
        acc = np.mean([n == graph.name_of(g).lower() for n, g in zip(names, gold, strict=True)])
        return len(mentions) / s, acc

    exact_rate, exact_acc = run(exact_mentions)
    dense_rate, dense_acc = run(fuzzy_mentions)

    choices = linker.surfaces
    t = time.perf_counter()
    hits = [process.extractOne(m.lower(), choices, scorer=WRatio) for m in fuzzy_mentions]
    rf_s = time.perf_counter() - t
    rf_names = [choices[h[2]] for h in hits]
    rf_nodes = [
        linker.node_names[linker.surface_nodes[linker.surfaces.index(s)][0]].lower() for s in rf_names
    ]
    rf_acc = np.mean([n == graph.name_of(g).lower() for n, g in zip(rf_nodes, gold, strict=True)])

    print(
        f"Starter KG piece: {len(graph):,} nodes, {len(linker):,} surface forms (names + synonyms); "
        f"MiniLM-L6 on CPU, 2 shared cores.\n"
    )
    print(
        f"Index build (embed all surface forms): {build_s:.1f} s = "
        f"{len(linker) / build_s:,.0f} surface forms/s.\n"
    )
    print("| linker | mentions | mentions/s | top-1 accuracy (same name as source node) |")
    print("|---|---|---|---|")
    print(f"| kg.EntityLinker, exact names | {len(exact_mentions):,} | {exact_rate:,.0f} | {exact_acc:.3f} |")
    print(
        f"| kg.EntityLinker, perturbed names (dense) | {len(fuzzy_mentions):,} | "
        f"{dense_rate:,.0f} | {dense_acc:.3f} |"
    )
    print(
        f"| rapidfuzz extractOne (WRatio), perturbed names | {len(fuzzy_mentions):,} | "
        f"{len(fuzzy_mentions) / rf_s:,.0f} | {rf_acc:.3f} |"
    )


if __name__ == "__main__":
    main()
