"""`emerge rag ...`: entities, linking and summaries over a built dataset, each cached and resumable."""

from __future__ import annotations

import json
from pathlib import Path

import click

from emerge.cli.kg import device_option

_DATA = click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A dataset folder written by `emerge data build`.",
)
_KG = click.option(
    "--kg",
    "kg_dir",
    default="starter",
    show_default=True,
    help='"starter" or a folder written by KnowledgeGraph.save.',
)
_LLM = click.option(
    "--llm",
    "llm_config",
    default=None,
    help="LLM backend YAML: a path or a shipped name such as llm/smollm2.yaml [the bundled SmolLM2].",
)
_OUT = click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="RAG output folder: entities/, linked/, summaries-<task>/, llm_cache.sqlite.",
)
_MODE = click.option(
    "--mode",
    "entity_mode",
    type=click.Choice(["llm", "matcher", "union", "retriever"]),
    default="llm",
    show_default=True,
    help="Note entities by EMERGE's LLM NER, the KG term matcher, both, or KG concepts retrieved from the "
    "note chunks with a sentence encoder (--model).",
)
_THRESHOLD = click.option(
    "--threshold",
    type=click.FloatRange(-1.0, 1.0),
    default=0.7,
    show_default=True,
    help="Linking cosine threshold (EMERGE: 0.6 for MIMIC-III, 0.7 for MIMIC-IV).",
)
_TASK = click.option(
    "--task",
    default="generic",
    show_default=True,
    help="Which outcome the summary should serve: generic, or a registered task (mortality, "
    "readmission, ...).",
)
_TOKENS = click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="Tokens the LLM may write per answer.",
)
_DENSE = click.option(
    "--dense/--exact-only",
    "dense_linking",
    default=True,
    show_default=True,
    help="Dense linking over all KG surface forms, or exact name/synonym matches only.",
)


_MODEL = click.option(
    "--model",
    default="default",
    show_default=True,
    help='Sentence encoder: "default" (bundled MiniLM) or a trained folder; retrieves the note concepts '
    "of --mode retriever and links entities densely.",
)
_CONCEPT_UNIT = click.option(
    "--concept-unit",
    type=click.Choice(["phrase", "chunk"]),
    default="phrase",
    show_default=True,
    help="--mode retriever: search each phrase of a note chunk (best for the bundled MiniLM) or the whole "
    "100-word chunk (DR.EHR's unit, for an encoder trained for it).",
)
_CONCEPT_THRESHOLD = click.option(
    "--concept-threshold",
    type=click.FloatRange(-1.0, 1.0),
    default=None,
    help="--mode retriever: cosine a phrase or chunk must reach with a concept [calibrated for the bundled "
    "MiniLM per unit: benchmarks/results/patient_concepts.md].",
)


def _settings(**kw):
    from pydantic import ValidationError

    from emerge.rag.stage import RagSettings
    from foundation.config_io import validation_message
    from foundation.errors import UserInputError

    try:
        return RagSettings(**{k: v for k, v in kw.items() if v is not None})
    except ValidationError as exc:
        raise UserInputError(validation_message(exc, "emerge rag's options", "set of RAG settings")) from exc


def _llm_config(llm_config: str | None):
    """The loaded LLM config: a path or a shipped name (llm/smollm2.yaml); None = the bundled SmolLM2."""
    if llm_config is None:
        return None
    from emerge.experiment.config import config_path
    from emerge.llm.config import load_llm_config

    return load_llm_config(config_path(llm_config, "LLM config"))


@click.group(name="rag")
def group() -> None:
    """The RAG stage: entities, linking, task-specific summaries (the steps `emerge run` runs)."""


@group.command("entities")
@_DATA
@_KG
@_LLM
@_OUT
@_MODE
@_TOKENS
@_MODEL
@_CONCEPT_UNIT
@_CONCEPT_THRESHOLD
@device_option("the sentence encoder of --mode retriever")
def entities(
    data_dir: Path,
    kg_dir: str,
    llm_config: str | None,
    out: Path,
    entity_mode: str,
    max_new_tokens: int,
    model: str,
    concept_unit: str,
    concept_threshold: float | None,
    device: str,
) -> None:
    """Abnormal time-series values and note entities of every stay -> OUT/entities/entities.parquet.

    The KG is opened in every mode: besides matching and retrieval, it tells which terms are qualifiers
    ("acute", "right"), never disease entities."""
    from emerge.cli.kg import open_kg
    from emerge.data.dataset import EHRDataset
    from emerge.rag.session import llm_session
    from emerge.rag.stage import rag_folder, run_entities

    settings = _settings(
        entity_mode=entity_mode,
        max_new_tokens=max_new_tokens,
        concept_unit=concept_unit,
        concept_threshold=concept_threshold,
    )
    encoder = None
    if entity_mode == "retriever":
        from drehr.model.loading import check_sentence_encoder

        check_sentence_encoder(model, "--model")  # a clear error before the data and the KG are read
    rag_folder(out)
    dataset = EHRDataset(data_dir)
    kg = open_kg(kg_dir)
    if entity_mode == "retriever":
        from drehr.model import load_sentence_encoder

        encoder = load_sentence_encoder(model, device=device)
    if entity_mode in ("matcher", "retriever"):  # no LLM involved
        frame = run_entities(dataset, out, settings, kg=kg, encoder=encoder)
    else:
        with llm_session(out, _llm_config(llm_config), max_new_tokens) as (backend, cache, sampling):
            frame = run_entities(
                dataset, out, settings, kg=kg, backend=backend, cache=cache, sampling=sampling
            )
    click.echo(f"{frame.height} entity rows for {frame['stay_id'].n_unique()} stays -> {out / 'entities'}")


@group.command("link")
@_KG
@_OUT
@_THRESHOLD
@_DENSE
@_MODE
@_MODEL
@device_option("the sentence encoder")
def link(
    kg_dir: str, out: Path, threshold: float, dense_linking: bool, entity_mode: str, model: str, device: str
) -> None:
    """Link OUT/entities to KG nodes -> OUT/linked/linked.parquet.

    Entities whose node is already known (--mode retriever found them as KG concepts) pass through; the
    others (all of them in the other modes, the time-series phrases in every mode) are linked."""
    from drehr.model import load_sentence_encoder
    from emerge.cli.kg import open_kg
    from emerge.rag.stage import read_step, run_linking

    read_step(out, "entities")  # a clear error before the encoder and the KG are loaded
    settings = _settings(link_threshold=threshold, dense_linking=dense_linking, entity_mode=entity_mode)
    encoder = load_sentence_encoder(model, device=device)
    frame = run_linking(out, open_kg(kg_dir), encoder.encode, encoder.fingerprint, settings)
    click.echo(
        f"linked {int(frame['node_id'].is_not_null().sum())} of {frame.height} entity rows "
        f"-> {out / 'linked'}"
    )


@group.command("summarize")
@_DATA
@_KG
@_LLM
@_OUT
@_TASK
@_TOKENS
@_MODE
@_THRESHOLD
@_DENSE
def summarize(
    data_dir: Path,
    kg_dir: str,
    llm_config: str | None,
    out: Path,
    task: str,
    max_new_tokens: int,
    entity_mode: str,
    threshold: float,
    dense_linking: bool,
) -> None:
    """Knowledge + summary prompt + local LLM for every stay -> OUT/summaries-<task>/ (resumable)."""
    from emerge.cli.kg import open_kg
    from emerge.data.dataset import EHRDataset
    from emerge.rag.session import llm_session
    from emerge.rag.stage import rag_folder, read_step, run_summaries

    rag_folder(out)
    read_step(out, "link")  # a clear error before the LLM and the KG are loaded
    settings = _settings(
        task=task,
        max_new_tokens=max_new_tokens,
        entity_mode=entity_mode,
        link_threshold=threshold,
        dense_linking=dense_linking,
    )
    dataset = EHRDataset(data_dir)
    with llm_session(out, _llm_config(llm_config), max_new_tokens) as (backend, cache, sampling):
        frame = run_summaries(
            dataset, out, open_kg(kg_dir), backend, settings, cache=cache, sampling=sampling
        )
    click.echo(f"{frame.height} summaries -> {out / f'summaries-{task}'}")


@group.command("show")
@click.argument("stay_id", type=int)
@_OUT
@click.option("--task", default=None, help="Which task's summary [the only one in OUT].")
def show(stay_id: int, out: Path, task: str | None) -> None:
    """Print one stay's entities, linked nodes, prompt and summary."""
    import polars as pl

    from emerge.rag.stage import read_step
    from foundation.errors import UserInputError

    if task is None:
        tasks = sorted(p.name.removeprefix("summaries-") for p in out.glob("summaries-*") if p.is_dir())
        if len(tasks) > 1:
            raise UserInputError(f"{out} holds summaries for the tasks {tasks}; pass --task")
        task = tasks[0] if tasks else "generic"
    summaries, _ = read_step(out, "summarize", task)
    rows = summaries.filter(pl.col("stay_id") == stay_id)
    if rows.height == 0:
        raise UserInputError(
            f"stay {stay_id} is not in the {task} summaries of {out} "
            f"(it holds {summaries.height} stays, e.g. {summaries['stay_id'].head(3).to_list()})"
        )
    row = rows.row(0, named=True)
    linked = read_step(out, "link")[0].filter(pl.col("stay_id") == stay_id)
    click.echo(f"# stay {stay_id} ({row['task']}, model {row['model']})\n")
    click.echo("## entities -> linked nodes")
    for r in linked.iter_rows(named=True):
        target = f"{r['node_id']} {r['node_name']} ({r['score']:.2f})" if r["node_id"] else "not linked"
        found = ""
        if r.get("evidence_id"):
            score = r.get("evidence_score")
            found = f" [in {r['evidence_id']}" + (f", cosine {score:.2f}]" if score is not None else "]")
        click.echo(f"- [{r['source']}] {r['entity']} x{r['count']} -> {target}{found}")
    click.echo(f"\n## gaps: {', '.join(row['gaps']) or 'none'}; trimmed: {json.loads(row['trimmed'])}")
    click.echo(f"\n## prompt\n{row['prompt']}\n\n## summary\n{row['summary']}")


COMMANDS = [group]
