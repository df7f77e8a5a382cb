"""`emerge demo`: the whole pipeline on the bundled defaults, end to end, resumable.

Stages (each writes under OUT and is skipped on a rerun when its inputs and settings are unchanged):
1. synthetic cohort in MIMIC-IV layout          OUT/synthetic/
2. EHR dataset (cohort, labels, 48 h series, in-window notes, patient splits)   OUT/dataset/
3. RAG summaries (entities, KG linking, local LLM), when enabled               OUT/rag/
4. note and summary embeddings with the bundled MiniLM (DR.EHR BiEncoder)      OUT/cache/embeddings/
5. the fusion model, its baselines and ablations, for both tasks              OUT/runs/<task>/<model>/
6. the report: OUT/metrics.json, OUT/metrics.md, plots per run
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from kg.errors import UserInputError

__all__ = ["DEMO_MODELS", "run_demo"]

logger = logging.getLogger(__name__)

# Model variants the demo trains, in report order; those that read the summary need stage 3.
DEMO_MODELS: tuple[str, ...] = ("ts_only", "notes_only", "summary_only", "concat", "emerge_released",
                                "fusion_no_summary", "emerge_full")
TASKS: tuple[str, ...] = ("mortality", "readmission")
CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _stage(name: str) -> float:
    logger.info("== %s", name)
    return time.perf_counter()


def _done(name: str, start: float) -> None:
    logger.info("== %s done in %.1f s", name, time.perf_counter() - start)


def synthetic_cohort(out: Path, stays: int, seed: int) -> Path:
    """Stage 1: generate the cohort unless this folder already holds the same one."""
    from emerge.data.synth import generate
    from emerge.data.synth.generate import FORMAT_VERSION
    from kg.artifacts import read_config
    from kg.errors import ArtifactError

    folder = out / "synthetic"
    try:
        body = read_config(folder / "truth", "synthetic_cohort", FORMAT_VERSION)
        if body.get("stays") == stays and body.get("seed") == seed:
            logger.info("synthetic cohort in %s is up to date", folder)
            return folder
    except ArtifactError:
        pass  # absent, or written by another version of the generator: generate it again
    generate(folder, stays=stays, seed=seed, overwrite=folder.exists())
    return folder


def run_demo(out: str | Path = "runs/demo", stays: int = 2000, seed: int = 0, *, summaries: bool = True,
             models: tuple[str, ...] = DEMO_MODELS, trainer_config: str | Path | None = None) -> dict[str, Any]:
    """Run every stage; returns the combined metrics (the shape of OUT/metrics.json)."""
    from emerge.data.build import build_dataset
    from emerge.data.config import BuildConfig
    from emerge.data.dataset import EHRDataset
    from emerge.metrics.report import markdown_table, merge_metrics, save_metrics_json
    from emerge.models.config import ModelConfig
    from emerge.pipeline.model_ready import assemble_model_ready
    from emerge.pipeline.text_stage import embed_texts, load_default_encoder
    from emerge.training.config import TrainerConfig
    from emerge.training.run import train_and_evaluate
    from kg.artifacts import atomic_write_text

    if stays < 50:
        raise UserInputError(f"--stays {stays} is too few for train/val/test splits with both outcomes; use >= 50")
    unknown = sorted(set(models) - set(DEMO_MODELS))
    if unknown:
        raise UserInputError(f"unknown demo models {unknown}; valid: {list(DEMO_MODELS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    t = _stage("1/6 synthetic cohort")
    synth_dir = synthetic_cohort(out, stays, seed)
    _done("synthetic cohort", t)

    t = _stage("2/6 EHR dataset")
    data_dir = build_dataset(synth_dir, out / "dataset", BuildConfig(version="iv"))
    dataset = EHRDataset(data_dir)
    _done("EHR dataset", t)

    summary_texts = None
    if summaries:
        t = _stage("3/6 RAG summaries")
        from emerge.pipeline.rag_stage import demo_summaries

        summary_texts = demo_summaries(dataset, out / "rag", seed=seed)
        _done("RAG summaries", t)
    else:
        logger.info("== 3/6 RAG summaries: skipped (--no-summaries)")

    t = _stage("4/6 text embeddings")
    encoder = load_default_encoder()
    note_texts = {int(s): dataset.notes_of(int(s)) for s in dataset.stay_id}
    notes = embed_texts(dataset.stay_id, note_texts, encoder, out / "cache" / "embeddings" / "notes")
    summary = None
    if summary_texts is not None:
        summary = embed_texts(dataset.stay_id, {k: [v] for k, v in summary_texts.items()}, encoder,
                              out / "cache" / "embeddings" / "summary")
    data = assemble_model_ready(dataset, notes, summary, text_encoder=encoder.fingerprint)
    _done("text embeddings", t)

    t = _stage("5/6 models")
    trainer = TrainerConfig.from_yaml(trainer_config or CONFIGS / "trainer" / "cpu_fast.yaml")
    chosen = [m for m in models if summary is not None or m in ("ts_only", "notes_only", "fusion_no_summary")]
    skipped = sorted(set(models) - set(chosen))
    if skipped:
        logger.warning("models that read the RAG summary are skipped without summaries: %s", skipped)
    reports = []
    for task in TASKS:
        for name in chosen:
            cfg = ModelConfig.from_yaml(CONFIGS / "model" / f"{name}.yaml")
            result = train_and_evaluate(data, cfg, trainer, out / "runs" / task / name, task=task,
                                        expected_text_encoder=encoder.fingerprint)
            reports.append(result.metrics)
    _done("models", t)

    t = _stage("6/6 report")
    metrics = merge_metrics(*reports)
    save_metrics_json(metrics, out / "metrics.json")
    table = markdown_table(metrics)
    atomic_write_text(out / "metrics.md", table)
    _done("report", t)
    c = dataset.info["counts"]
    print(f"\nDemo finished in {time.perf_counter() - t0:.0f} s. Data: {c['stays']} ICU stays "
          f"({c['patients']} patients), mortality {100 * c['mortality_rate']:.1f} %, "
          f"readmission {100 * c['readmission_rate']:.1f} %, {c['notes']} in-window notes.\n")
    print(table)
    print(f"Written: {out / 'metrics.json'}, {out / 'metrics.md'}, per-run plots under {out / 'runs'}")
    return metrics
