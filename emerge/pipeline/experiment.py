"""`emerge run`: every stage of one experiment, each reused on a rerun when its inputs are unchanged.

Stages and where they write (OUT = the experiment's output folder):
1. data: the synthetic cohort (OUT/synthetic/) or the MIMIC tables, built into OUT/dataset/
2. knowledge graph: the cached starter KG, or PrimeKG / BIOS / a saved KG folder
3. RAG summaries: entities, KG links, knowledge, LLM summary per stay        OUT/rag/
4. note and summary embeddings with the frozen text encoder                  OUT/cache/embeddings/
5. every model for every task                                                OUT/runs/<task>/<model>/
6. the report: OUT/metrics.json, OUT/metrics.md

Reuse: the dataset build, each RAG step, each embedding shard and each finished training run are
keyed by hashes of their inputs and settings; a killed run restarts where it stopped (training
resumes from its last checkpoint) and a changed setting redoes only what depends on it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from emerge.pipeline.experiment_config import ResolvedExperiment, reads
from foundation.errors import UserInputError

__all__ = ["run_experiment", "load_kg", "prepare_data", "EXPERIMENT_KIND"]

logger = logging.getLogger(__name__)

EXPERIMENT_KIND = "emerge_experiment"


class _Stages:
    """Numbered stage logging: "== 3/6 RAG summaries" ... "== RAG summaries done in 12.3 s"."""

    def __init__(self, total: int) -> None:
        self.total, self.n = total, 0

    def start(self, name: str) -> float:
        self.n += 1
        logger.info("== %d/%d %s", self.n, self.total, name)
        return time.perf_counter()

    @staticmethod
    def done(name: str, start: float) -> None:
        logger.info("== %s done in %.1f s", name, time.perf_counter() - start)

    def skip(self, names: tuple[str, ...], why: str) -> None:
        for name in names:
            self.n += 1
            logger.info("== %d/%d %s: skipped (%s)", self.n, self.total, name, why)


def synthetic_cohort(out: Path, stays: int, seed: int) -> Path:
    """Generate the synthetic cohort under OUT/synthetic unless the same one is already there (whole)."""
    from emerge.data.synth import generate

    folder = out / "synthetic"
    generate(folder, stays=stays, seed=seed, overwrite=True)  # only ever replaces a cohort emerge wrote
    return folder


def prepare_data(exp: ResolvedExperiment, out: Path, root: str | Path | None = None) -> Path:
    """Stage 1: the built EHR dataset folder (synthetic cohort generated first when asked)."""
    from emerge.data.build import build_dataset

    data = exp.config.data
    if data.source == "synthetic":
        source = synthetic_cohort(out, data.synthetic.stays, data.synthetic.seed)
    else:
        source = root or data.root
        if not source:
            raise UserInputError(f"experiment {exp.config.name!r} reads MIMIC-{data.build.version.upper()} but no "
                                 "folder was given; pass --root /path/to/mimic (or set data.root in the config)")
    return build_dataset(source, out / "dataset", data.build)


def load_kg(section):
    """Stage 2: the experiment's knowledge graph (`kg.loading.load_graph`)."""
    from kg.loading import load_graph

    return load_graph(section.source, section.path)


def run_experiment(exp: ResolvedExperiment, out: str | Path | None = None, root: str | Path | None = None,
                   llm_backend=None) -> dict[str, Any]:
    """Run (or resume) every stage of `exp`; returns the combined metrics (the shape of OUT/metrics.json).

    Args:
        out: output folder (default: the config's `out`, else runs/<name>).
        root: the MIMIC folder (overrides `data.root`); ignored for synthetic data.
        llm_backend: an already built LLM backend to use instead of the config's (tests pass a fake one).
    """
    from emerge.data.dataset import EHRDataset
    from emerge.metrics.report import markdown_table, merge_metrics, save_metrics_json
    from emerge.pipeline.model_ready import assemble_model_ready
    from emerge.pipeline.preflight import check_splits
    from emerge.pipeline.rag_stage import run_rag_stage
    from emerge.pipeline.text_stage import embed_texts, load_default_encoder
    from emerge.training.run import train_and_evaluate
    from foundation.artifacts import atomic_write_text

    from foundation.outputs import claim_folder

    config = exp.config
    out = Path(out) if out is not None else config.output_dir()
    claim_folder(out, EXPERIMENT_KIND, what="experiment output folder (--out)")
    t0 = time.perf_counter()
    stages = _Stages(6)

    t = stages.start("EHR dataset")
    dataset = EHRDataset(prepare_data(exp, out, root))
    check_splits(dataset, config.tasks, config.name)
    stages.done("EHR dataset", t)

    summary_texts = None
    if exp.needs_summaries:
        t = stages.start("knowledge graph")
        kg = load_kg(config.kg)
        stages.done("knowledge graph", t)
        t = stages.start("RAG summaries")
        summary_texts = run_rag_stage(dataset, out / "rag", kg, exp.llm, config.rag.settings,
                                      linker_encoder=config.rag.linker_encoder, backend=llm_backend)
        stages.done("RAG summaries", t)
    else:
        stages.skip(("knowledge graph", "RAG summaries"), "no model reads the summary")

    t = stages.start("text embeddings")
    encoder = load_default_encoder(config.text.encoder)
    cache = out / "cache" / "embeddings"
    notes = summary = None
    if exp.needs_notes:
        note_texts = {int(s): dataset.notes_of(int(s)) for s in dataset.stay_id}
        notes = embed_texts(dataset.stay_id, note_texts, encoder, cache / "notes", max_chunks=config.text.max_chunks)
    if summary_texts is not None:
        summary = embed_texts(dataset.stay_id, {k: [v] for k, v in summary_texts.items()}, encoder,
                              cache / f"summary-{config.rag.settings.task}", max_chunks=config.text.max_chunks)
    data = assemble_model_ready(dataset, notes, summary, text_encoder=encoder.fingerprint)
    stages.done("text embeddings", t)

    t = stages.start("models")
    reports = []
    for task in config.tasks:
        for name, model_config in exp.models.items():
            text = reads(model_config, "notes") or reads(model_config, "summary")
            result = train_and_evaluate(data, model_config, exp.trainer, out / "runs" / task / name, task=task,
                                        expected_text_encoder=encoder.fingerprint if text else None)
            reports.append(result.metrics)
    stages.done("models", t)

    t = stages.start("report")
    metrics = merge_metrics(*reports)
    save_metrics_json(metrics, out / "metrics.json")
    table = markdown_table(metrics)
    atomic_write_text(out / "metrics.md", table)
    stages.done("report", t)
    c = dataset.info["counts"]
    print(f"\n{config.name} finished in {time.perf_counter() - t0:.0f} s. Data: {c['stays']} ICU stays "
          f"({c['patients']} patients), mortality {100 * c['mortality_rate']:.1f} %, "
          f"readmission {100 * c['readmission_rate']:.1f} %, {c['notes']} in-window notes.\n")
    print(table)
    print(f"Written: {out / 'metrics.json'}, {out / 'metrics.md'}, per-run plots under {out / 'runs'}")
    return metrics
