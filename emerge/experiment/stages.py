"""The stages of one experiment, one small function each. The runner (`emerge.experiment.runner`)
calls them in order with the same `Run`, and each writes its own part of the output folder OUT:

    data_stage       OUT/synthetic/ (synthetic data) and OUT/dataset/           cached steps
    kg_stage         the knowledge graph (the starter KG cached under $EMERGE_CACHE)
    rag_stage        OUT/rag/ (entities, links, summaries, LLM answer cache)    cached steps
    concepts_stage   OUT/concepts_matcher/ (synthetic data: the matcher baseline) cached steps
    text_stage       OUT/cache/embeddings/ (note and summary chunk embeddings)  checksummed shards
    model_stage      OUT/runs/<task>/<model>/seed<s>/                           resumable runs
    report_stage     OUT/metrics.json, OUT/metrics.md, OUT/forest_<task>.png

A rerun repeats nothing whose inputs and settings are unchanged and whose outputs are whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emerge.experiment.config import ResolvedExperiment, reads
from foundation.errors import UserInputError

__all__ = [
    "Run",
    "data_stage",
    "kg_stage",
    "rag_stage",
    "concepts_stage",
    "text_stage",
    "model_stage",
    "report_stage",
    "summary_task",
    "synthetic_cohort",
]

logger = logging.getLogger(__name__)


@dataclass
class Run:
    """One run of an experiment: its resolved config, output folder, MIMIC root and shared objects.

    `llm_backend` replaces the config's LLM (tests pass a fake one). Sentence encoders are loaded once
    per run and shared by the stages that use the same one (`encoder(name)`).
    """

    exp: ResolvedExperiment
    out: Path
    root: str | Path | None = None
    llm_backend: Any = None
    _encoders: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def config(self):
        return self.exp.config

    def encoder(self, name: str, device: str = "auto"):
        """The sentence encoder `name` ("default" or a folder) on `device` (auto | cpu | cuda | cuda:N),
        loaded on first use; the text and linker encoders share one object when both match."""
        from drehr.model.device import resolve_device

        key = (name, str(resolve_device(device)))
        if key not in self._encoders:
            from drehr.model import load_sentence_encoder

            self._encoders[key] = load_sentence_encoder(name, what="encoder", device=key[1])
        return self._encoders[key]

    def tasks(self) -> tuple[str, ...]:
        """Every task whose labels the models train on (a "multitask" entry stands for its tasks)."""
        from emerge.tasks import resolve_tasks

        return tuple(dict.fromkeys(t.name for entry in self.config.tasks for t in resolve_tasks(entry)))


def synthetic_cohort(out: Path, stays: int, seed: int) -> Path:
    """Generate the synthetic cohort under OUT/synthetic unless the same one is already there (whole)."""
    from emerge.data.synth import generate

    folder = out / "synthetic"
    generate(folder, stays=stays, seed=seed, overwrite=True)  # only ever replaces a cohort emerge wrote
    return folder


def data_stage(run: Run):
    """The built EHR dataset (`EHRDataset`); refuses a split without both classes of a task.

    When a model reads notes, no note table is an error before any work (naming the paths looked at),
    and a dataset without a single note one before any training.
    """
    from emerge.data.build import build_dataset
    from emerge.data.dataset import EHRDataset
    from emerge.data.notes import note_tables
    from emerge.data.sources import Sources
    from emerge.experiment.preflight import check_splits

    data = run.config.data
    if data.source == "synthetic":
        source = synthetic_cohort(run.out, data.synthetic.stays, data.synthetic.seed)
    else:
        source = run.root or data.root
        if not source:
            raise UserInputError(
                f"experiment {run.config.name!r} reads MIMIC-{data.build.version.upper()} but no "
                "folder was given; pass --root /path/to/mimic (or set data.root in the config)"
            )
    if run.exp.needs_notes:
        Sources(source, data.build.version, data.note_root).require_note_tables(
            note_tables(data.build), f"models of {run.config.name} read notes"
        )
    dataset = EHRDataset(build_dataset(source, run.out / "dataset", data.build, note_root=data.note_root))
    if run.exp.needs_notes and dataset.notes.height == 0:
        raise UserInputError(
            f"models of {run.config.name} read notes but the dataset {dataset.path} holds none: no note "
            f"of a cohort stay was charted inside the {data.build.window_hours} h window; check the note "
            "tables (dataset.json: notes_from), or drop the models that read notes"
        )
    check_splits(dataset, run.tasks(), run.config.name)
    return dataset


def kg_stage(run: Run):
    """The experiment's knowledge graph (`kg.loading.load_graph`)."""
    from kg.loading import load_graph

    section = run.config.kg
    return load_graph(section.source, section.path, features=section.features)


def summary_task(entry: str, run: Run) -> str:
    """The summary a task entry's models read: its own task's ("per_task"; a `multitask` entry reads the
    generic one), or the single `settings.task` summary ("one")."""
    from emerge.tasks import GENERIC, MULTITASK

    if run.config.rag.summaries == "one":
        return run.config.rag.settings.task
    return GENERIC if entry == MULTITASK else entry


def rag_stage(run: Run, dataset, kg) -> dict[str, dict[int, str]]:
    """summary task -> (stay_id -> RAG summary), one summary per task the models need (entities,
    links, knowledge, local LLM; cached under OUT/rag/, the entities and links shared by all tasks)."""
    from emerge.rag.session import run_rag

    rag = run.config.rag
    encoder = run.encoder(rag.linker_encoder, rag.linker_device)
    out = {}
    for task in dict.fromkeys(summary_task(entry, run) for entry in run.config.tasks):
        settings = rag.settings.model_copy(update={"task": task})
        out[task] = run_rag(
            dataset, run.out / "rag", kg, run.exp.llm, settings, encoder, backend=run.llm_backend
        )
    return out


def concepts_stage(run: Run, dataset, kg) -> dict[str, Any] | None:
    """On a synthetic cohort, the RAG stage's note concepts scored against the generator's ground truth
    (`emerge.rag.concept_truth`: per-stay recall and precision over the stays whose in-window notes
    mention a condition), next to the exact KG term matcher's when the entity mode is another; None on
    MIMIC (no ground truth). Cheap: the matcher baseline runs no model (exact linking)."""
    from emerge.rag.concept_truth import matcher_links, note_concepts_report, stay_mentions
    from emerge.rag.stage import read_step

    if run.config.data.source != "synthetic":
        return None
    settings = run.config.rag.settings
    linked = {"configured": (settings.entity_mode, read_step(run.out / "rag", "link")[0])}
    if settings.entity_mode != "matcher":
        linked["matcher"] = ("matcher", matcher_links(dataset, kg, run.out / "concepts_matcher", settings))
    mentions = stay_mentions(run.out / "synthetic", dataset.notes)
    return note_concepts_report(linked, mentions, kg, dataset.stay_id.tolist())


def text_stage(run: Run, dataset, summaries: dict[str, dict[int, str]] | None) -> dict[str, Any]:
    """task entry -> the model's input (`ModelReadyData`): the dataset's tensors, labels of every task,
    the notes' chunk embeddings (if a model reads them) and that entry's summary's (if any)."""
    from emerge.text.embed import embed_stay_texts

    text = run.config.text
    if not run.exp.needs_notes and summaries is None:  # no model reads text: no encoder to load
        data = dataset.model_ready(run.tasks())
        return dict.fromkeys(run.config.tasks, data)
    encoder = run.encoder(text.encoder, text.device)
    cache = run.out / "cache" / "embeddings"

    def embed(texts: dict[int, list[str]], name: str):
        return embed_stay_texts(
            dataset.stay_id,
            texts,
            encoder,
            cache / name,
            max_chunks=text.max_chunks,
            chunk_words=100,
            overlap=10,
            shard_size=512,
            batch_size=64,
        )

    notes = embed(dataset.notes_by_stay(), "notes") if run.exp.needs_notes else None
    embedded = {}
    for task, texts in (summaries or {}).items():
        embedded[task] = embed({k: [v] for k, v in texts.items()}, f"summary-{task}")
    by_summary: dict[str | None, Any] = {}  # entries reading the same summary share one object
    out = {}
    for entry in run.config.tasks:
        key = summary_task(entry, run) if summaries is not None else None
        if key not in by_summary:
            summary = embedded.get(key) if key is not None else None
            by_summary[key] = dataset.model_ready(
                run.tasks(), notes, summary, text_encoder=encoder.fingerprint
            )
        out[entry] = by_summary[key]
    return out


def model_stage(run: Run, data: dict[str, Any]) -> dict[str, dict[str, list]]:
    """Train (or reuse) every model for every task entry and seed: task entry -> model -> results, one
    `TrainingResult` per seed (OUT/runs/<task>/<model>/seed<s>/)."""
    from emerge.training.run import train_and_evaluate

    seeds = run.config.seed_list(run.exp.trainer.seed)
    results: dict[str, dict[str, list]] = {}
    for task in run.config.tasks:
        for name, model_config in run.exp.models.items():
            text = reads(model_config, "notes") or reads(model_config, "summary")
            for seed in seeds:
                result = train_and_evaluate(
                    data[task],
                    model_config,
                    run.exp.trainer.model_copy(update={"seed": seed}),
                    run.out / "runs" / task / name / f"seed{seed}",
                    task=task,
                    expected_text_encoder=data[task].text_encoder if text else None,
                )
                results.setdefault(task, {}).setdefault(name, []).append((seed, result))
    return results


def report_stage(
    run: Run, dataset, results: dict[str, dict[str, list]], concepts: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """OUT/metrics.json, OUT/metrics.md and OUT/forest_<task>.png over the seeds (emerge.experiment.report),
    with `concepts` (`concepts_stage`) as `note_concepts`; returns (metrics, the markdown)."""
    from emerge.experiment.report import experiment_report, write_experiment_report

    runs: dict[str, dict[str, list]] = {}
    for entry_results in results.values():
        for name, seed_results in entry_results.items():
            for seed, result in seed_results:
                for task, prediction in result.predictions.items():  # a multitask run predicts several
                    metrics = result.metrics["tasks"][task]["models"][result.model_name]
                    runs.setdefault(task, {}).setdefault(name, []).append((seed, metrics, prediction))
    metrics = experiment_report(
        runs,
        dataset.cohort,
        run.out,
        reference=run.config.reference,
        n_bootstrap=run.exp.trainer.n_bootstrap,
        seed=run.exp.trainer.seed,
    )
    if concepts:
        metrics["note_concepts"] = concepts
    return metrics, write_experiment_report(metrics, run.out)
