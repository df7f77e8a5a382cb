"""Patient concepts from notes: KG term matcher vs LLM NER vs concept retrieval, on synthetic ground truth.

Usage: python benchmarks/patient_concepts.py [--stays 300] [--llm-stays 60] [--aligned-model DIR]
       [--work runs/bench_patient_concepts] [--out benchmarks/results/patient_concepts.md]

Ground truth and scoring: `emerge.rag.concept_truth` (a stay's truth is the conditions its in-window
notes mention; a node is right when the condition accepts it). Each method gives a set of starter-KG
nodes per stay:

- matcher: `run_entities(entity_mode="matcher")` + exact linking (`run_linking`, dense off): the demo's path;
- llm: EMERGE's NER prompt with the bundled SmolLM2-135M (llm/smollm2.yaml), entities linked exactly or
  densely (cosine >= 0.7, MiniLM), on the first `--llm-stays` report stays only (it is slow on a CPU);
- retriever: `ConceptRetriever` (entity_mode "retriever") with the bundled MiniLM, and with `--aligned-model`.

Recall and precision are per-stay means (precision is a lower bound: the truth lists latent conditions
only). Recall by match type counts the (stay, condition) pairs whose every mention has that type;
"unseen" pairs are those none of whose mentions is a KG name or synonym (where an exact matcher cannot win).

The retriever's threshold is chosen on a calibration share of the stays (best micro-F1) and every number is
reported on the other stays. Speed: stays of 10 note chunks, retrieved one stay per call against the full
starter KG, index loaded from its cache.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from pathlib import Path

import numpy as np

from emerge.rag.concept_index import concept_dtype
from emerge.rag.concept_truth import (
    accepted_nodes,
    linked_note_concepts,
    matcher_links,
    score_concepts,
    truth_pairs,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

LINK_TYPES = ["disease", "effect/phenotype"]
GRID = [round(t, 2) for t in np.arange(0.20, 0.951, 0.01)]


# ------------------------------------------------------------------------------------------- truth
def cohort(work: Path, stays: int, seed: int):
    """(dataset, mentions of its in-window notes: stay_id, condition, surface_form, match_type)."""
    from emerge.data.build import build_dataset
    from emerge.data.config import BuildConfig
    from emerge.data.dataset import EHRDataset
    from emerge.data.synth import generate
    from emerge.rag.concept_truth import stay_mentions

    generate(work / "synth", stays=stays, seed=seed)
    dataset = EHRDataset(build_dataset(work / "synth", work / "data", BuildConfig(version="iv")))
    return dataset, stay_mentions(work / "synth", dataset.notes)


def calibrate(preds, truth, accepted, stays) -> tuple[float, list[tuple[float, dict]]]:
    """The grid threshold with the best micro-F1 on `stays` (ties: the higher one), and the curve."""
    curve = [(t, score_concepts(preds, truth, accepted, stays, t)) for t in GRID]
    best = max(curve, key=lambda tc: (round(tc[1]["f1"], 6), tc[0]))
    return best[0], curve


# ------------------------------------------------------------------------------------------- methods
def matcher_predictions(dataset, kg, work: Path) -> dict[int, dict[str, float]]:
    return linked_note_concepts(matcher_links(dataset, kg, work / "rag_matcher"))


def llm_predictions(dataset, kg, stays, encoder, work: Path) -> tuple[dict[int, dict[str, float]], dict]:
    """EMERGE's NER with the bundled SmolLM2 on `stays`, linked like `emerge rag link` (exact, then dense)."""
    from emerge.llm.cache import LLMCache
    from emerge.llm.factory import build_backend
    from emerge.llm.structured import generate_entities
    from emerge.rag.note_entities import extract_note_entities, ner_prompts
    from emerge.rag.session import default_llm_config
    from emerge.rag.stage import RagSettings
    from foundation.artifacts import cache_root
    from kg.linking import cached_linker

    settings = RagSettings(entity_mode="llm")
    config = default_llm_config()
    backend = build_backend(config)
    sampling = config.sampling.model_copy(update={"max_new_tokens": settings.max_new_tokens})
    texts = dataset.notes_by_stay()
    per_stay = {s: ner_prompts(texts.get(s, []), settings.seed + s) for s in stays}
    prompts = list(dict.fromkeys(p for ps in per_stay.values() for p in ps))
    (work / "llm").mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    with LLMCache(work / "llm" / "llm_cache.sqlite") as cache:
        before = len(cache)
        results = generate_entities(backend, prompts, sampling, cache=cache, progress=True)
        generated = len(cache) - before  # 0: every answer replayed from an earlier run's cache
    seconds = time.perf_counter() - t
    backend.close()
    answers = {
        p: list(r.entities) if r.status == "parsed" else None for p, r in zip(prompts, results, strict=True)
    }
    parsed = sum(a is not None for a in answers.values())
    linker = cached_linker(kg, encoder.encode, cache_root() / "linkers", encoder.fingerprint, 0.7, LINK_TYPES)
    qualifiers = kg.qualifier_ids()
    out: dict[int, dict[str, float]] = {}
    for s in stays:
        found = extract_note_entities(
            texts.get(s, []),
            lambda ps: [answers[p] for p in ps],
            seed=settings.seed + s,
            mode="llm",
            drop=kg.is_qualifier_term,
        )
        for rec in linker.link([e for e, _ in found.entities]) if found.entities else []:
            if rec["node_id"] is not None and rec["node_id"] not in qualifiers:
                out.setdefault(s, {})[rec["node_id"]] = 1.0
    info = {"prompts": len(prompts), "parsed": parsed, "seconds": seconds, "generated": generated}
    return out, info


def retriever_predictions(retriever, chunks) -> tuple[dict[int, dict[str, float]], float]:
    t = time.perf_counter()
    hits = retriever.retrieve(chunks, progress=True)
    seconds = time.perf_counter() - t
    return {s: {h.node_id: h.score for h in hs} for s, hs in hits.items()}, seconds


def speed(retriever, dataset, stays: int = 30, per_stay: int = 10) -> dict:
    """Wall and CPU seconds per stay of `per_stay` full 100-word chunks (the cohort's notes, shuffled and
    joined, then chunked; at most `stays` stays, no chunk used twice), one stay per call after a warm-up
    call, and all of them in one call."""
    from emerge.rag.retriever_entities import stay_chunks

    texts = dataset.notes["text"].to_list()
    random.Random(0).shuffle(texts)
    pool = stay_chunks([("speed", " ".join(texts))])
    stays = min(stays, len(pool) // per_stay - 1)  # no chunk twice: repeats would be searched once
    groups = {i: pool[i * per_stay : (i + 1) * per_stay] for i in range(stays + 1)}
    retriever.retrieve({-1: groups.pop(0)})
    wall, cpu = [], []
    for i, group in groups.items():
        w, c = time.perf_counter(), time.process_time()
        retriever.retrieve({i: group})
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    w, c = time.perf_counter(), time.process_time()
    retriever.retrieve(groups)
    return {
        "median": statistics.median(wall),
        "mean": statistics.fmean(wall),
        "max": max(wall),
        "cpu": statistics.fmean(cpu),
        "batched": (time.perf_counter() - w) / len(groups),
        "batched_cpu": (time.process_time() - c) / len(groups),
        "words": statistics.fmean(len(ch.text.split()) for g in groups.values() for ch in g),
        "stays": len(groups),
    }


# ------------------------------------------------------------------------------------------- report
def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _row(name: str, m: dict, keys: list[str]) -> str:
    cells = [
        name,
        str(m["stays"]),
        _pct(m["recall"]),
        _pct(m["precision"]),
        _pct(m["micro_r"]),
        _pct(m["micro_p"]),
    ]
    cells += [_pct(m["f1"]), f"{m['per_stay_nodes']:.1f}"]
    for k in keys:
        v = m["by"].get(k)
        cells.append(f"{_pct(v[0])} ({v[1]})" if v else "-")
    return "| " + " | ".join(cells) + " |"


BY_KEYS = ["only string", "only synonym", "only abbreviation", "seen surface", "unseen surface"]
HEADER = (
    "| method | stays | recall | precision | micro R | micro P | micro F1 | nodes/stay | "
    + " | ".join(f"R {k}" for k in BY_KEYS)
    + " |\n|---|"
    + "---:|" * (7 + len(BY_KEYS))
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stays", type=int, default=300, help="synthetic ICU stays to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="runs/bench_patient_concepts")
    parser.add_argument("--out", default="benchmarks/results/patient_concepts.md")
    parser.add_argument(
        "--calibration", type=float, default=0.4, help="share of stays used to pick thresholds"
    )
    parser.add_argument(
        "--llm-stays", type=int, default=60, help="report stays the LLM NER runs on (0: skip)"
    )
    parser.add_argument("--aligned-model", default=None, help="a KG-aligned encoder folder to compare")
    parser.add_argument("--threads", type=int, default=None, help="torch threads [torch's default]")
    parser.add_argument(
        "--concept-dtype",
        choices=["auto", "float32", "bfloat16"],
        default="auto",
        help="precision of the KG surface-form embedding (RagSettings.concept_dtype)",
    )
    parser.add_argument(
        "--speed-threads", type=int, nargs="+", default=[1, 2], help="torch threads of the speed test"
    )
    args = parser.parse_args()

    import torch

    from drehr.model import load_sentence_encoder
    from emerge.rag.retriever_entities import CALIBRATED, ConceptRetriever, stay_chunks
    from emerge.rag.stage import stay_notes
    from foundation.artifacts import cache_root
    from kg.starter import load_starter_kg

    if args.threads:
        torch.set_num_threads(args.threads)
    default_threads = torch.get_num_threads()
    load_before = os.getloadavg()
    t_all = time.perf_counter()
    work = Path(args.work)
    dataset, mentions = cohort(work, args.stays, args.seed)
    kg = load_starter_kg()
    accepted = accepted_nodes(kg)
    truth = truth_pairs(mentions, kg)
    notes = stay_notes(dataset)
    stays = [s for s in dataset.stay_id.tolist() if s in notes]  # stays with in-window notes
    chunks = {s: stay_chunks(notes[s]) for s in stays}
    order = stays[:]
    random.Random(args.seed).shuffle(order)
    n_cal = int(round(args.calibration * len(order)))
    cal, rep = sorted(order[:n_cal]), sorted(order[n_cal:])

    results: dict[str, dict] = {}
    t = time.perf_counter()
    preds = matcher_predictions(dataset, kg, work)
    results["matcher (exact KG terms)"] = {
        "preds": preds,
        "threshold": None,
        "seconds": time.perf_counter() - t,
    }

    minilm = load_sentence_encoder("default")
    encoders = [("MiniLM (base)", minilm)]
    if args.aligned_model:
        encoders.append(
            (f"KG-aligned {Path(args.aligned_model).name}", load_sentence_encoder(args.aligned_model))
        )
    speeds, curves = {}, {}
    for label, encoder in encoders:
        for unit in ("phrase", "chunk"):
            name = f"retriever, {unit}s, {label}"
            t = time.perf_counter()
            retriever = ConceptRetriever(
                kg,
                encoder,
                cache_root() / "linkers",
                LINK_TYPES,
                unit,
                threshold=-1.0,
                top_k=CALIBRATED[unit][1],
                dtype=args.concept_dtype,
            ).prepare()  # the index: loaded from the cache, or embedded and built once (slow on a CPU)
            index_s = time.perf_counter() - t
            preds, seconds = retriever_predictions(retriever, chunks)
            threshold, curve = calibrate(preds, truth, accepted, cal)
            curves[name] = (threshold, curve, preds)
            results[name] = {"preds": preds, "threshold": threshold, "seconds": seconds, "index_s": index_s}
            for threads in args.speed_threads:
                torch.set_num_threads(threads)
                speeds[(name, threads)] = speed(retriever, dataset)
            torch.set_num_threads(default_threads)

    llm_info = None
    if args.llm_stays:
        llm_stays = rep[: args.llm_stays]
        preds, llm_info = llm_predictions(dataset, kg, llm_stays, minilm, work)
        results["llm NER (SmolLM2-135M)"] = {
            "preds": preds,
            "threshold": None,
            "seconds": llm_info["seconds"],
            "stays": llm_stays,
        }

    total_s = time.perf_counter() - t_all
    context = {
        "args": args,
        "kg": kg,
        "dataset": dataset,
        "stays": stays,
        "chunks": chunks,
        "mentions": mentions,
        "cal": cal,
        "rep": rep,
        "load": (load_before[0], os.getloadavg()[0]),
        "total_s": total_s,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    text = report(context, results, curves, speeds, llm_info, truth, accepted)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    print(f"CALIBRATED in emerge.rag.retriever_entities: {CALIBRATED}")


def _evaluated(result: dict, truth, accepted, stays) -> dict:
    threshold = result["threshold"] if result["threshold"] is not None else -2.0
    return score_concepts(result["preds"], truth, accepted, stays, threshold)


def report(ctx: dict, results, curves, speeds, llm_info, truth, accepted) -> str:
    args, kg, stays, chunks, cal, rep = (ctx[k] for k in ("args", "kg", "stays", "chunks", "cal", "rep"))
    command = (
        f".venv/bin/python benchmarks/patient_concepts.py --stays {args.stays} --llm-stays {args.llm_stays}"
    )
    command += f" --aligned-model {args.aligned_model}" if args.aligned_model else ""
    command += f" --threads {args.threads}" if args.threads else ""
    command += f" --concept-dtype {args.concept_dtype}"
    lines = [
        f"# Patient concepts from notes: matcher, LLM NER, concept retrieval ({len(stays)} synthetic stays)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs (load average "
        f"{ctx['load'][0]:.1f} before, {ctx['load'][1]:.1f} after), torch {ctx['torch']}, {ctx['threads']} "
        f"threads. Starter KG: {len(kg):,} nodes, {len(kg.surface_forms()):,} surface forms, embedded in "
        f"{concept_dtype(args.concept_dtype)}. Wall time of "
        f"the whole script: {ctx['total_s'] / 60:.1f} min.",
        f"Command: `{command}`",
        "",
        f"Cohort: `emerge data synth --stays {args.stays} --seed {args.seed}`, built for MIMIC-IV: "
        f"{len(ctx['dataset'])} stays, {len(stays)} with in-window notes "
        f"({sum(len(c) for c in chunks.values())} chunks, {ctx['mentions'].height} condition mentions). "
        f"Calibration: {len(cal)} stays; report: {len(rep)} stays. Retriever: the nearest concept per phrase "
        "(unit phrase) or the 10 nearest per chunk (unit chunk), threshold = best micro-F1 on the "
        "calibration stays.",
        "",
        "## Report stays",
        "",
        "Recall / precision: per-stay means; micro: pooled over the stays. `R <type>`: recall of the (stay, "
        "condition) pairs whose mentions all have that match type; `unseen surface`: pairs none of whose "
        "mentions is a KG name or synonym (count in brackets). Precision is a lower bound (see the notes).",
        "",
        HEADER,
    ]
    for name, result in results.items():
        if "stays" not in result:
            thr = result["threshold"]
            label = name + (f", threshold {thr:.2f}" if thr is not None else "")
            lines.append(_row(label, _evaluated(result, truth, accepted, rep), BY_KEYS))
    if llm_info is not None:
        llm_stays = next(r["stays"] for r in results.values() if "stays" in r)
        lines += [
            "",
            f"### The first {len(llm_stays)} report stays (the LLM NER runs on these only: "
            + (
                f"{llm_info['seconds']:.0f} s to generate {llm_info['generated']} answers"
                if llm_info["generated"]
                else "its answers were replayed from the LLM cache of an earlier run"
            )
            + f" for {llm_info['prompts']} NER prompts, {llm_info['parsed']} parsed after up to 3 retries)",
            "",
            HEADER,
        ]
        lines += [_row(n, _evaluated(r, truth, accepted, llm_stays), BY_KEYS) for n, r in results.items()]
    lines += ["", "## Threshold calibration", ""]
    for name, (threshold, curve, preds) in curves.items():
        lines += [
            f"{name}: threshold **{threshold:.2f}** (best micro-F1 on the {len(cal)} calibration stays).",
            "",
            "| threshold | calib. micro P | calib. micro R | calib. F1 | report micro P | report micro R "
            "| report F1 |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for t, m in curve:
            if t == threshold or (round(t * 100) % 5 == 0 and threshold - 0.15 <= t <= threshold + 0.1):
                r = score_concepts(preds, truth, accepted, rep, t)
                mark = " *" if t == threshold else ""
                lines.append(
                    f"| {t:.2f}{mark} | {_pct(m['micro_p'])} | {_pct(m['micro_r'])} | {_pct(m['f1'])} | "
                    f"{_pct(r['micro_p'])} | {_pct(r['micro_r'])} | {_pct(r['f1'])} |"
                )
        lines.append("")
    words = next(iter(speeds.values()))["words"] if speeds else 0
    n_speed = next(iter(speeds.values()))["stays"] if speeds else 0
    lines += [
        f"## Speed: stays of 10 note chunks ({words:.0f} words each) against the full starter KG",
        "",
        f"One stay per call ({n_speed} stays after a warm-up call; the index loaded from its cache): wall "
        "seconds (median, mean, max) and the process's CPU seconds (all threads); then those stays in one "
        "call (identical phrases searched once).",
        "",
        "| retriever | torch threads | median s/stay | mean | max | CPU s/stay | one call: s/stay "
        "| CPU s/stay |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (name, threads), s in speeds.items():
        lines.append(
            f"| {name} | {threads} | {s['median']:.3f} | {s['mean']:.3f} | {s['max']:.3f} | {s['cpu']:.3f} | "
            f"{s['batched']:.3f} | {s['batched_cpu']:.3f} |"
        )
    lines += [
        "",
        "| retriever | index ready s (loaded, or built on a first run) | whole cohort in one call: s/stay |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {r['index_s']:.1f} | {r['seconds'] / len(stays):.3f} |"
        for name, r in results.items()
        if "index_s" in r
    ]
    lines += ["", "## Most frequent wrong nodes on the report stays", ""]
    for name, result in results.items():
        m = _evaluated(result, truth, accepted, result.get("stays", rep))
        top = ", ".join(f"{kg.name(n)} ({c})" for n, c in m["wrong"].most_common(8))
        lines.append(f"- {name}: {top or 'none'}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
