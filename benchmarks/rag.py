"""RAG stage cost per stay with the default CPU model, cold vs rerun from the LLM cache.

Usage: python benchmarks/rag.py [--stays 275] [--out benchmarks/results/rag.md] [--work DIR]

EMERGE's full path on a synthetic cohort (275 generated stays: about 200 pass the cohort rules): LLM NER
on the notes (EMERGE's prompt, JSON answers, up to 3 retries), abnormal time-series values, dense
linking to the starter KG (the one-off index of every KG surface form is timed on its own), knowledge
retrieval and a task-specific summary per stay with the bundled SmolLM2-135M-Instruct.
Baseline: the same three steps rerun with their outputs deleted but the SQLite LLM cache kept, so
every prompt is rebuilt and looked up, and none is generated.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stays", type=int, default=275, help="synthetic ICU stays to generate")
    parser.add_argument("--task", default="mortality")
    parser.add_argument("--out", default="benchmarks/results/rag.md")
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()

    import torch

    from drehr.model import load_sentence_encoder
    from emerge.data.build import build_dataset
    from emerge.data.config import BuildConfig
    from emerge.data.dataset import EHRDataset
    from emerge.data.synth import generate
    from emerge.llm.cache import LLMCache
    from emerge.llm.factory import build_backend
    from emerge.rag.session import default_llm_config
    from emerge.rag.stage import (
        RagSettings,
        rag_folder,
        remove_step,
        run_entities,
        run_linking,
        run_summaries,
    )
    from kg.linking import cached_linker
    from kg.starter import load_starter_kg

    work = Path(args.work or tempfile.mkdtemp(prefix="rag-bench-"))
    generate(work / "synth", stays=args.stays, seed=0, overwrite=True)
    dataset = EHRDataset(build_dataset(work / "synth", work / "data", BuildConfig(version="iv")))
    n = len(dataset)
    kg = load_starter_kg()
    config = default_llm_config()
    backend = build_backend(config)
    settings = RagSettings(entity_mode="llm", dense_linking=True, task=args.task, max_new_tokens=128)
    sampling = config.sampling.model_copy(update={"max_new_tokens": settings.max_new_tokens})
    encoder = load_sentence_encoder("default")
    out = rag_folder(work / "rag")
    for step in ("entities", "link", "summarize"):  # a cold run: no step output left from an earlier one
        remove_step(out, step, args.task)

    t = time.perf_counter()
    cached_linker(
        kg,
        encoder.encode,
        work / "linker",
        encoder.fingerprint,
        settings.link_threshold,
        list(settings.link_types),
    )._ensure_index()
    index_s = time.perf_counter() - t

    def steps(cache: LLMCache) -> dict[str, float]:
        times = {}
        t = time.perf_counter()
        run_entities(dataset, out, settings, kg=kg, backend=backend, cache=cache, sampling=sampling)
        times["entities (LLM NER)"] = time.perf_counter() - t
        t = time.perf_counter()
        run_linking(out, kg, encoder.encode, encoder.fingerprint, settings, cache_root=work / "linker")
        times["linking (dense)"] = time.perf_counter() - t
        t = time.perf_counter()
        frame = run_summaries(dataset, out, kg, backend, settings, cache=cache, sampling=sampling)
        times["summaries"] = time.perf_counter() - t
        times["_gaps"] = int(sum(1 for g in frame["gaps"].to_list() if g))
        return times

    with LLMCache(out / "llm_cache.sqlite") as cache:
        cold = steps(cache)
        n_prompts = len(cache)
    for step in ("entities", "link", "summarize"):  # keep the LLM cache and the linker index, drop the steps
        remove_step(out, step, args.task)
    with LLMCache(out / "llm_cache.sqlite") as cache:
        warm = steps(cache)

    rows = [k for k in cold if not k.startswith("_")]
    total_cold = sum(cold[k] for k in rows)
    total_warm = sum(warm[k] for k in rows)
    lines = [
        f"# RAG stage per stay: {n} synthetic stays, SmolLM2-135M-Instruct on the CPU",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; LLM {backend.model_id}, batch {backend.preferred_batch_size}, "
        f"greedy, max_new_tokens {settings.max_new_tokens}. Task {args.task}; entity_mode llm (EMERGE's NER "
        f"prompt, verbatim; up to 3 retries), dense linking (threshold {settings.link_threshold}).",
        f"Command: `.venv/bin/python benchmarks/rag.py --stays {args.stays}`",
        "",
        f"One-off dense index over every starter-KG surface form of the linked types: {index_s:.1f} s "
        "(cached per KG and encoder, so a second run of this script loads it; not counted below).",
        "",
        "| step | cold s | cold s/stay | rerun from LLM cache s | speed-up |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for k in rows:
        lines.append(
            f"| {k} | {cold[k]:.1f} | {cold[k] / n:.3f} | {warm[k]:.2f} | "
            f"{cold[k] / max(warm[k], 1e-9):,.0f}x |"
        )
    lines.append(
        f"| **all** | **{total_cold:.1f}** | **{total_cold / n:.3f}** | **{total_warm:.2f}** | "
        f"**{total_cold / max(total_warm, 1e-9):,.0f}x** |"
    )
    lines += [
        "",
        "Stays with a recorded gap (no abnormal value, no entity, nothing linked, ...): "
        f"{cold['_gaps']} of {n}.",
    ]
    lines.append(f"Distinct prompts generated in the cold run (NER pieces, retries, summaries): {n_prompts}.")
    lines.append(
        "The rerun rebuilds every prompt and looks it up; a rerun whose step outputs exist skips the steps "
        "altogether (milliseconds)."
    )
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
