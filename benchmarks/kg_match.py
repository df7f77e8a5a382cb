"""Benchmark: DR.EHR stage-I term matching, 100-word chunks against the starter KG's surface forms.

Ours: `kg.matching.TermMatcher` (pyahocorasick automaton + word-boundary filter + leftmost-longest
selection) over all ~120k surface forms of the starter KG, on --chunks chunks of 100 words.
Baseline: one Python `re` alternation of the same surface forms (longest first, \\b boundaries),
the usual hand-rolled approach; it is run on --baseline-chunks chunks and extrapolated. Both must
find the same spans on the baseline chunks (checked). Chunks are synthetic: 100 words drawn from
the words of the surface forms and filler words (seeded), so ~15-30 % of words hit a term.

    .venv/bin/python benchmarks/kg_match.py [--chunks 100000]
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np


def make_chunks(forms: list[str], n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = sorted({w for f in forms[:20000] for w in f.split()})
    filler = "the patient was admitted with and no acute distress noted on exam today history of".split()
    words = np.array(vocab + filler * 200)
    return [" ".join(words[rng.integers(0, len(words), 100)]) for _ in range(n)]


def regex_matcher(forms: list[str]):
    alternation = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    pattern = re.compile(rf"(?<![^\W_])(?:{alternation})(?![^\W_])")
    return lambda text: [(m.start(), m.end()) for m in pattern.finditer(text.lower())]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--baseline-chunks", type=int, default=50)
    args = ap.parse_args()

    from kg.matching import TermMatcher
    from kg.starter import load_starter_kg

    graph = load_starter_kg()
    surface = graph.surface_forms()
    forms = sorted(surface)
    chunks = make_chunks(forms, args.chunks)

    t = time.perf_counter()
    matcher = TermMatcher(surface)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    spans = 0
    for c in chunks:
        spans += len(matcher.match(c))
    ours_s = time.perf_counter() - t

    t = time.perf_counter()
    rx = regex_matcher(forms)
    rx_build = time.perf_counter() - t
    sub = chunks[: args.baseline_chunks]
    t = time.perf_counter()
    rx_spans = [rx(c) for c in sub]
    rx_s = time.perf_counter() - t
    agree = sum(rx_spans[i] == [(m.start, m.end) for m in matcher.match(c)] for i, c in enumerate(sub))
    per_chunk_rx = rx_s / len(sub)

    print(f"{len(forms):,} surface forms (starter KG); chunks of 100 words; 2 shared CPU cores.\n")
    print("| matcher | build (s) | chunks | time (s) | chunks/s | spans/chunk |")
    print("|---|---|---|---|---|---|")
    print(
        f"| kg.TermMatcher (pyahocorasick) | {build_s:.1f} | {len(chunks):,} | {ours_s:.1f} | "
        f"{len(chunks) / ours_s:,.0f} | {spans / len(chunks):.1f} |"
    )
    print(
        f"| re alternation (measured) | {rx_build:.1f} | {len(sub):,} | {rx_s:.1f} | "
        f"{1 / per_chunk_rx:,.1f} | {sum(map(len, rx_spans)) / len(sub):.1f} |"
    )
    print(
        f"| re alternation (extrapolated) | {rx_build:.1f} | {len(chunks):,} | "
        f"~{per_chunk_rx * len(chunks):,.0f} | {1 / per_chunk_rx:,.1f} | - |"
    )
    print(f"\nSame spans as the regex on {agree}/{len(sub)} baseline chunks.")


if __name__ == "__main__":
    main()
