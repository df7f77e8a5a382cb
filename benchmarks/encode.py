"""Encode throughput: drehr's BiEncoder.encode vs sentence-transformers' encode, same MiniLM, same texts.

Usage: python benchmarks/encode.py [--n 2000] [--batch-size 64] [--out benchmarks/results/encode.md]
Texts are synthetic chunk-like passages of 60-120 words (seeded). Each encoder gets one warm-up
batch, then the best of `--repeats` timed passes; the table gives texts/s and our speed ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORDS = (
    "patient admitted with acute chronic heart failure exacerbation shortness of breath chest pain "
    "hypertension diabetes mellitus insulin creatinine elevated kidney injury given furosemide lasix "
    "metoprolol aspirin echo showed reduced ejection fraction pneumonia antibiotics ceftriaxone "
    "vancomycin cough fever sepsis lactate blood cultures negative discharged home follow up cardiology "
    "copd exacerbation nebulizer prednisone oxygen saturation afib anticoagulation warfarin inr"
).split()


def make_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 120))) for _ in range(n)]


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from drehr.model import BiEncoder

    texts = make_texts(args.n)
    ours = BiEncoder.from_pretrained("default")
    st = SentenceTransformer(ours.source, device="cpu")
    ours.encode(texts[: args.batch_size]), st.encode(texts[: args.batch_size])  # warm-up
    t_ours = best_time(lambda: ours.encode(texts, batch_size=args.batch_size), args.repeats)
    t_st = best_time(lambda: st.encode(texts, batch_size=args.batch_size), args.repeats)
    diff = float(np.abs(ours.encode(texts[:200]) - st.encode(texts[:200])).max())

    lines = [
        "# Encode throughput: drehr BiEncoder.encode vs sentence-transformers encode",
        "",
        f"Encode throughput, all-MiniLM-L6-v2 (max length {ours.config.passage_max_length}), "
        f"{args.n} texts of 60-120 words, batch {args.batch_size}, best of {args.repeats}; "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads.",
        "",
        "| encoder | seconds | texts/s | ratio vs sentence-transformers |",
        "| --- | ---: | ---: | ---: |",
        f"| sentence-transformers `encode` | {t_st:.2f} | {args.n / t_st:.1f} | 1.00x |",
        f"| drehr `BiEncoder.encode` | {t_ours:.2f} | {args.n / t_ours:.1f} | {t_st / t_ours:.2f}x |",
        "",
        f"Max absolute difference between the two embeddings (first 200 texts): {diff:.2e}.",
        "",
        f"Command: `python benchmarks/encode.py --n {args.n} --batch-size {args.batch_size} "
        f"--repeats {args.repeats}`",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
