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
    """One EMERGE-style summary prompt (~300 words) with random abnormal features and knowledge."""
    feats = [f"{f} too {rng.choice(['high', 'low'])}" for f in rng.sample(FEATURES, 5)]
    diseases = rng.sample(sorted(DISEASES), 4)
    defs = "\n".join(
        f"- {d}: {DISEASES[d]}. {DISEASES[d].capitalize()} is common in intensive care." for d in diseases
    )
    triples = "\n".join(
        f"({d}, {rng.choice(RELATIONS)}, {rng.choice(sorted(DISEASES))})" for d in diseases for _ in range(2)
    )
    return (
        "As an experienced clinical professor, you have been provided with the following information to "
        "assist in summarizing a patient's health status:\n"
        f"Potential abnormal features exhibited by the patient: {', '.join(feats)}.\n"
        f"Possible diseases the patient may have: {', '.join(diseases)}.\n"
        f"Definitions and descriptions of these diseases:\n{defs}\n"
        f"Relationships between these diseases and other medical entities:\n{triples}\n"
        "Please use the above information to write a concise summary of the patient's condition that is "
        "useful for predicting in-hospital mortality and 30-day readmission. Do not add explanations."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-prompts", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--cpu-threads", type=int, default=1)
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
    config = TransformersConfig(device="cpu", batch_size=args.batch_size, cpu_threads=args.cpu_threads)

    rows = []
    if not args.skip_gguf_load:
        start = time.perf_counter()
        load_gguf(bundled_smollm2_path(), torch.float32)
        rows.append(
            ("load", "transformers from the GGUF (de-quantize every time)", time.perf_counter() - start)
        )
    TransformersBackend(config)  # make sure the conversion exists before timing the cached load
    start = time.perf_counter()
    backend = TransformersBackend(config)
    rows.append(("load", "transformers from the cached safetensors conversion", time.perf_counter() - start))

    prompt_tokens = sum(backend.count_tokens(p) for _, p in items) / len(items)
    with tempfile.TemporaryDirectory() as tmp, LLMCache(Path(tmp) / "cache.sqlite") as cache:
        start = time.perf_counter()
        cold = run_batch(items, backend, sampling, cache=cache, batch_size=args.batch_size, desc="cold")
        cold_s = time.perf_counter() - start
        start = time.perf_counter()
        warm = run_batch(items, backend, sampling, cache=cache, batch_size=args.batch_size, desc="cached")
        warm_s = time.perf_counter() - start
    if warm != cold:
        raise RuntimeError("cached rerun returned different outputs")
    new_tokens = sum(backend.count_tokens(t) for t in cold.values())

    n = args.n_prompts
    lines = [
        "# LLM backend: cold generation vs rerun from the cache",
        "",
        f"Model: SmolLM2-135M-Instruct (bundled Q4_1 GGUF, de-quantized to float32), transformers "
        f"backend on CPU, {args.cpu_threads} torch thread(s), batch size {args.batch_size}, greedy, "
        f"max_new_tokens {args.max_new_tokens}. {n} synthetic EMERGE-style summary prompts "
        f"(mean {prompt_tokens:.0f} prompt tokens); {new_tokens} new tokens in all.",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores (shared with other "
        f"jobs while measured), torch {torch.__version__}, Python {sys.version.split()[0]}.",
        "Command: `"
        + " ".join([".venv/bin/python benchmarks/llm.py", *(argv if argv is not None else sys.argv[1:])])
        + "`",
        "",
        "| run | prompts | seconds | seconds / prompt | speed-up vs cold |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| cold: every prompt generated (baseline) | {n} | {cold_s:.2f} | {cold_s / n:.3f} | 1x |",
        f"| rerun from the SQLite cache | {n} | {warm_s:.4f} | {warm_s / n:.5f} | {cold_s / warm_s:,.0f}x |",
        "",
        f"Cold throughput: {new_tokens / cold_s:.1f} new tokens/s.",
        "",
        "| model load | seconds |",
        "| --- | ---: |",
        *[f"| {what} | {s:.2f} |" for _, what, s in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
