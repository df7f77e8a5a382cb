"""`run_experiment`: every stage of one experiment in order (`emerge.experiment.stages`), each reused on
a rerun when its inputs are unchanged and its outputs whole; the result is returned, not printed.

Reuse: the dataset build, each RAG step, each embedding shard and each finished training run are
keyed by hashes of their inputs and settings; a killed run restarts where it stopped (training
resumes from its last checkpoint) and a changed setting redoes only what depends on it. OUT must be
new, empty or an experiment folder emerge wrote.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emerge.experiment.config import ResolvedExperiment
from emerge.experiment.stages import (
    Run,
    concepts_stage,
    data_stage,
    kg_stage,
    model_stage,
    rag_stage,
    report_stage,
    text_stage,
)

__all__ = ["run_experiment", "ExperimentResult", "EXPERIMENT_KIND"]

logger = logging.getLogger(__name__)

EXPERIMENT_KIND = "emerge_experiment"


@dataclass(frozen=True)
class ExperimentResult:
    """What a run produced: the combined metrics (metrics.json), the markdown table (metrics.md), a
    one-line description of the data, and the output folder."""

    metrics: dict[str, Any]
    table: str
    headline: str
    out: Path
    seconds: float


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


def run_experiment(
    exp: ResolvedExperiment, out: str | Path | None = None, root: str | Path | None = None, llm_backend=None
) -> ExperimentResult:
    """Run (or resume) every stage of `exp`.

    Args:
        out: output folder (default: the config's `out`, else runs/<name>).
        root: the MIMIC folder (overrides `data.root`); ignored for synthetic data.
        llm_backend: an already built LLM backend to use instead of the config's (tests pass a fake one).
    """
    from foundation.outputs import claim_folder

    out = Path(out) if out is not None else exp.config.output_dir()
    claim_folder(out, EXPERIMENT_KIND, what="experiment output folder (--out)")
    run = Run(exp, out, root, llm_backend)
    t0 = time.perf_counter()
    stages = _Stages(6)

    t = stages.start("EHR dataset")
    dataset = data_stage(run)
    stages.done("EHR dataset", t)

    summaries = concepts = None
    if exp.needs_summaries:
        t = stages.start("knowledge graph")
        kg = kg_stage(run)
        stages.done("knowledge graph", t)
        t = stages.start("RAG summaries")
        summaries = rag_stage(run, dataset, kg)
        concepts = concepts_stage(run, dataset, kg)
        stages.done("RAG summaries", t)
    else:
        stages.skip(("knowledge graph", "RAG summaries"), "no model reads the summary")

    t = stages.start("text embeddings")
    data = text_stage(run, dataset, summaries)
    stages.done("text embeddings", t)

    t = stages.start("models")
    results = model_stage(run, data)
    stages.done("models", t)

    t = stages.start("report")
    metrics, table = report_stage(run, dataset, results, concepts)
    stages.done("report", t)
    seconds = time.perf_counter() - t0
    c = dataset.info["counts"]
    headline = (
        f"{exp.config.name} finished in {seconds:.0f} s. Data: {c['stays']} ICU stays "
        f"({c['patients']} patients), mortality {100 * c['mortality_rate']:.1f} %, "
        f"readmission {100 * c['readmission_rate']:.1f} %, {c['notes']} in-window notes."
    )
    return ExperimentResult(metrics, table, headline, out, seconds)
