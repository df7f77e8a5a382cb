"""`emerge run --check`: everything a run needs, checked without running it.

`check_experiment` loads every config the experiment names (done by `resolve()`), then checks the
inputs the stages will read: the MIMIC root has its version's required tables (and a note table when
a model reads notes), the KG source exists and is of the right kind, the text and linker encoders are
sentence encoders, the LLM model folder exists and its backend's package is installed, and the output
folder can be used. Every problem found is reported at once, one line each.
"""

from __future__ import annotations

from pathlib import Path

from emerge.experiment.config import ResolvedExperiment
from foundation.errors import UserInputError

__all__ = ["check_experiment", "check_splits"]


def _check_data(exp: ResolvedExperiment, root: str | Path | None) -> str:
    from emerge.data.notes import note_tables
    from emerge.data.sources import Sources

    data = exp.config.data
    if data.source == "synthetic":
        return f"data: synthetic cohort of {data.synthetic.stays} stays (seed {data.synthetic.seed})"
    source = root or data.root
    if not source:
        raise UserInputError(
            f"experiment {exp.config.name!r} reads MIMIC-{data.build.version.upper()} but no "
            "folder was given; pass --root /path/to/mimic (or set data.root in the config)"
        )
    # required tables (or an error naming the missing one); a --note-root without notes is an error
    sources = Sources(source, data.build.version, data.note_root)
    wanted = note_tables(data.build)
    if exp.needs_notes:
        sources.require_note_tables(wanted, f"models of {exp.config.name} read notes")
    if data.build.cohort.require_notes:
        sources.require_note_tables(
            wanted, "data.build.cohort.require_notes is on (set it to false to run without notes)"
        )
    notes = [n for n in wanted if sources.has(n)]
    where = f" from {sources.note_dir} ({sources.note_origin})" if notes else ""
    leak = (
        "; include_discharge_notes: discharge summaries, written after the window, leak into 48 h tasks"
        if data.build.include_discharge_notes
        else ""
    )
    return (
        f"data: MIMIC-{data.build.version.upper()} at {source} "
        f"(note tables: {', '.join(notes) or 'none'}{where}){leak}"
    )


def _check_kg(exp: ResolvedExperiment) -> str:
    section = exp.config.kg
    if not exp.needs_summaries:
        return "knowledge graph: not needed (no model reads the summary)"
    if section.source == "starter":
        return "knowledge graph: starter (built offline on first use and cached)"
    path = Path(section.path)
    if not path.exists():
        raise UserInputError(
            f"kg.path {str(path)!r} does not exist; point it at the {section.source} "
            f"{'kg.csv file' if section.source == 'primekg' else 'folder'}"
        )
    if section.source == "primekg" and not path.is_file():
        raise UserInputError(f"kg.path {path} is a folder; PrimeKG is read from its kg.csv file")
    if section.source in ("bios", "folder") and not path.is_dir():
        raise UserInputError(f"kg.path {path} is a file; kg.source {section.source!r} reads a folder")
    if section.source == "folder":
        from foundation.artifacts import read_config
        from kg.graph import FORMAT_VERSION, KIND

        read_config(path, KIND, FORMAT_VERSION)
    if section.features is not None:
        from kg.loading import primekg_feature_files

        primekg_feature_files(section.features)
        return f"knowledge graph: primekg at {path}, features from {section.features}"
    return f"knowledge graph: {section.source} at {path}"


def _check_encoders(exp: ResolvedExperiment) -> str:
    from drehr.model.device import resolve_device
    from drehr.model.loading import check_sentence_encoder

    check_sentence_encoder(exp.config.text.encoder, "text.encoder")
    text_device = resolve_device(exp.config.text.device)  # `cuda` without a GPU: refused now, not later
    if exp.needs_summaries:
        check_sentence_encoder(exp.config.rag.linker_encoder, "rag.linker_encoder")
        resolve_device(exp.config.rag.linker_device)
    return (
        f"encoders: text {exp.config.text.encoder} on {text_device}, linker {exp.config.rag.linker_encoder}"
    )


def _check_llm(exp: ResolvedExperiment) -> str:
    if not exp.needs_summaries or exp.llm is None:
        return "LLM: not needed"
    from emerge.llm.factory import check_backend_ready

    check_backend_ready(exp.llm)
    model = getattr(exp.llm, "model", None)
    return f"LLM: {exp.llm.backend} backend, model {model or 'bundled SmolLM2-135M-Instruct'}"


def _check_out(exp: ResolvedExperiment, out: str | Path | None) -> str:
    from emerge.experiment.runner import EXPERIMENT_KIND
    from foundation.outputs import read_manifest

    folder = Path(out) if out is not None else exp.config.output_dir()
    if folder.exists():
        if not folder.is_dir():
            raise UserInputError(f"output folder {folder} is a file; pass a folder path with --out")
        manifest = read_manifest(folder)
        if manifest is None and any(folder.iterdir()):
            raise UserInputError(
                f"output folder {folder} is not empty and was not written by emerge; "
                "pass a new or empty folder with --out"
            )
        if manifest is not None and manifest.kind != EXPERIMENT_KIND:
            raise UserInputError(
                f"output folder {folder} holds a {manifest.kind!r} written by emerge, not an "
                "experiment; pass another folder with --out"
            )
    return f"output: {folder}"


def check_experiment(
    exp: ResolvedExperiment, root: str | Path | None = None, out: str | Path | None = None
) -> list[str]:
    """One line per checked part; raise `UserInputError` listing every problem found."""
    lines, problems = [], []
    for check in (
        lambda: _check_data(exp, root),
        lambda: _check_kg(exp),
        lambda: _check_encoders(exp),
        lambda: _check_llm(exp),
        lambda: _check_out(exp, out),
    ):
        try:
            lines.append(check())
        except UserInputError as exc:
            problems.append(str(exc))
    if problems:
        raise UserInputError(
            f"{exp.config.name} cannot run ({len(problems)} problem"
            f"{'s' if len(problems) > 1 else ''}):\n" + "\n".join(f"- {p}" for p in problems)
        )
    return lines


def check_splits(dataset, tasks: tuple[str, ...], name: str) -> None:
    """Refuse to train when a split lacks a class of a task: its metrics would be undefined
    (or silently NaN)."""
    import numpy as np

    problems = []
    for task in tasks:
        y = dataset.labels(task)
        for split in ("train", "val", "test"):
            rows = dataset.split(split)
            known = y[rows][~np.isnan(y[rows])]
            pos = int(known.sum())
            if pos == 0 or pos == known.size:
                problems.append(f"{split} split: {known.size} stays, {pos} with {task}")
    if problems:
        raise UserInputError(
            f"{name}: a split holds only one class, so its models cannot be trained or evaluated "
            f"({'; '.join(problems)}); use more stays (e.g. `emerge demo --stays 1200`) or a larger cohort"
        )
