"""LLM benchmark: the default CPU model (SmolLM2-135M-Instruct GGUF, transformers backend) on ~20
summary-sized prompts, cold (every prompt generated) and rerun from the SQLite cache, side by side;
plus the model load time straight from the GGUF vs from the cached safetensors conversion.

    .venv/bin/python benchmarks/llm.py                       # writes benchmarks/results/llm.md
    .venv/bin/python benchmarks/llm.py --n-prompts 5 --max-new-tokens 32 --skip-gguf-load

Synthetic prompts only (no patient data): each mimics EMERGE's summary prompt with abnormal features,
diseases, definitions and triples (~300 words).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FEATURES = [
    "heart rate",
    "systolic blood pressure",
    "potassium",
    "creatinine",
    "glucose",
    "respiratory rate",
    "temperature",
    "oxygen saturation",
    "white blood cell count",
    "lactate",
    "sodium",
    "pH",
]
DISEASES = {
    "sepsis": "a life-threatening organ dysfunction caused by a dysregulated host response to infection",
    "acute kidney injury": "an abrupt decrease in kidney function with retention of urea and creatinine",
    "hyperkalemia": "an elevated concentration of potassium in the blood",
    "hypotension": "abnormally low blood pressure that can reduce perfusion of vital organs",
    "pneumonia": "an infection that inflames the air sacs in one or both lungs",
    "diabetic ketoacidosis": "a complication of diabetes with high blood ketones and acidosis",
    "heart failure": "a condition in which the heart cannot pump enough blood for the body's needs",
}
RELATIONS = ["associated with", "may cause", "risk factor for", "phenotype present"]


def summary_prompt(rng: random.Random) -> str:
    """One EMERGE summary prompt (emerge.rag.prompts, the RAG stage's own) with random features and
    knowledge."""
    from emerge.rag.prompts import DiseaseKnowledge, build_summary_prompt

    feats = [f"{f} too {rng.choice(['high', 'low'])}" for f in rng.sample(FEATURES, rng.randint(2, 6))]
    diseases = rng.sample(sorted(DISEASES), rng.randint(1, 4))
    knowledge = [
        DiseaseKnowledge(
            d,
            f"{d}: {DISEASES[d]}.",
            tuple(f"{d} -- {rng.choice(RELATIONS)} -- {rng.choice(sorted(DISEASES))}" for _ in range(2)),
        )
        for d in diseases
    ]
    return build_summary_prompt(rng.choice(["mortality", "readmission"]), feats, diseases, knowledge).text


SETTINGS = (
    (
        "float32, batch 8, no prefix cache (the previous default; baseline)",
        {"dtype": "float32", "batch_size": 8, "prefix_cache": False},
    ),
    ("float32, batch 32, prefix cache", {"dtype": "float32", "batch_size": 32, "prefix_cache": True}),
    (
        "dtype auto, batch 32, prefix cache (the default)",
        {"dtype": "auto", "batch_size": 32, "prefix_cache": True},
    ),
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--cpu-threads", type=int, default=None)
    parser.add_argument(
        "--skip-gguf-load", action="store_true", help="Skip timing the direct GGUF load (~30 s)."
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "llm.md"))
    args = parser.parse_args(argv)

    import torch

    from emerge.llm import LLMCache, SamplingConfig, TransformersConfig, run_batch
    from emerge.llm.gguf import bundled_smollm2_path, load_gguf
    from emerge.llm.transformers_backend import TransformersBackend

    rng = random.Random(0)
    items = [(f"stay-{i}", summary_prompt(rng)) for i in range(args.n_prompts)]
    sampling = SamplingConfig(temperature=0.0, max_new_tokens=args.max_new_tokens)
    n = args.n_prompts

    loads = []
    if not args.skip_gguf_load:
        start = time.perf_counter()
        load_gguf(bundled_smollm2_path(), torch.float32)
        loads.append(("transformers from the GGUF (de-quantize every time)", time.perf_counter() - start))
    TransformersBackend(TransformersConfig(device="cpu"))  # make sure the conversion exists before timing
    start = time.perf_counter()
    TransformersBackend(TransformersConfig(device="cpu"))
    loads.append(("transformers from the cached safetensors conversion", time.perf_counter() - start))

    runs = []
    for label, update in SETTINGS:
        backend = TransformersBackend(
            TransformersConfig(device="cpu", cpu_threads=args.cpu_threads, **update)
        )
        backend.generate(
            [p for _, p in items[:2]], sampling.model_copy(update={"max_new_tokens": 2})
        )  # warm-up
        start = time.perf_counter()
        outputs = run_batch(items, backend, sampling, cache=None, desc=label[:24])
        runs.append((label, backend, time.perf_counter() - start, outputs))
    backend, cold_s, cold = runs[-1][1], runs[-1][2], runs[-1][3]
    prompt_tokens = sum(backend.count_tokens(p) for _, p in items) / n
    with tempfile.TemporaryDirectory() as tmp, LLMCache(Path(tmp) / "cache.sqlite") as cache:
        start = time.perf_counter()
        run_batch(items, backend, sampling, cache=cache, desc="fill cache")
        fill_s = time.perf_counter() - start
        start = time.perf_counter()
        warm = run_batch(items, backend, sampling, cache=cache, desc="cached")
        warm_s = time.perf_counter() - start
    new_tokens = sum(backend.count_tokens(t) for t in cold.values())
    same = sum(a == b for a, b in zip(runs[0][3].values(), runs[1][3].values(), strict=True))
    base_s = runs[0][2]

    lines = [
        "# LLM backend: generation settings side by side, and the rerun from the cache",
        "",
        f"Model: SmolLM2-135M-Instruct (bundled Q4_1 GGUF, de-quantized and cached as safetensors), "
        f"transformers backend on CPU, "
        f"{torch.get_num_threads() if args.cpu_threads is None else args.cpu_threads} torch "
        f"thread(s), greedy, max_new_tokens {args.max_new_tokens}. {n} EMERGE summary prompts built by "
        f"emerge.rag.prompts from random features and knowledge (mean {prompt_tokens:.0f} tokens "
        f"before the chat template); {new_tokens} new tokens in all with the default settings.",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (idle otherwise), native bfloat16: "
        f"{'yes' if backend.model.dtype == torch.bfloat16 else 'no'}, torch {torch.__version__}, "
        f"Python {sys.version.split()[0]}.",
        "Command: `"
        + " ".join([".venv/bin/python benchmarks/llm.py", *(argv if argv is not None else sys.argv[1:])])
        + "`",
        "",
        "| settings | seconds | seconds / prompt | speed-up vs baseline |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {label} | {s:.1f} | {s / n:.3f} | {base_s / s:.2f}x |" for label, _, s, _ in runs],
        "",
        f"The float32 runs with and without the prefix cache gave the same greedy text for {same} of {n} "
        "prompts (the prefix cache changes no input token; batch 8 vs 32 and length-sorted batches "
        "change the padding). bfloat16 rounds differently, so its text can differ from float32 after "
        "the first tokens.",
        "",
        "| run (default settings) | prompts | seconds | seconds / prompt | speed-up vs cold |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| cold: every prompt generated, written to the SQLite cache | {n} | {fill_s:.2f} | "
        f"{fill_s / n:.3f} | 1x |",
        f"| rerun from the SQLite cache | {n} | {warm_s:.4f} | {warm_s / n:.5f} | {fill_s / warm_s:,.0f}x |",
        "",
        f"Cold throughput with the default settings: {new_tokens / cold_s:.1f} new tokens/s, "
        f"{n / cold_s:.2f} prompts/s.",
        "",
        "| model load | seconds |",
        "| --- | ---: |",
        *[f"| {what} | {s:.2f} |" for what, s in loads],
        "",
    ]
    if warm != cold:
        lines.append("Note: the cached rerun returned other texts than the uncached default run (batching).")
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
