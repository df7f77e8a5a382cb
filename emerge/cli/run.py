"""`emerge demo` and `emerge run`: the whole pipeline. The runner returns the result; these print it."""

from __future__ import annotations

from pathlib import Path

import click

_SET = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a field of the experiment, e.g. --set data.synthetic.stays=400 "
    "--set trainer=trainer/cpu_fast.yaml (repeatable; the value is read as YAML).",
)

_SEEDS = click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=None,
    help="Train every model with this many seeds (from the trainer's seed on) and report mean ± std, "
    "paired tests on the seed ensembles and subgroups [the config's `seeds`].",
)


def _print_result(result) -> None:
    click.echo(f"\n{result.headline}\n")
    click.echo(result.table)
    click.echo(
        f"Written: {result.out / 'metrics.json'}, {result.out / 'metrics.md'}, "
        f"{result.out / 'forest_<task>.png'}, per-run plots under {result.out / 'runs'}"
    )


@click.command(name="demo")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("runs/demo"),
    show_default=True,
    help="Output folder; finished stages are reused on a rerun.",
)
@click.option(
    "--stays",
    type=click.IntRange(min=100),
    default=None,
    help="Synthetic ICU stays to generate (at least 100) [configs/experiment/demo.yaml].",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Seed of the cohort and the RAG stage [demo.yaml: 0].",
)
@click.option(
    "--summaries/--no-summaries",
    default=True,
    show_default=True,
    help="Write RAG summaries with the local LLM; without, the models that read them are left out.",
)
@click.option(
    "--trainer-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Trainer YAML [demo.yaml: configs/trainer/cpu_fast.yaml].",
)
@_SEEDS
@_SET
def demo(
    out: Path,
    stays: int | None,
    seed: int | None,
    summaries: bool,
    trainer_config: Path | None,
    seeds: int | None,
    sets: tuple[str, ...],
) -> None:
    """Run the pipeline end to end on the bundled defaults (synthetic cohort, starter KG, MiniLM, SmolLM2)."""
    from emerge.cli import quiet_lightning
    from emerge.experiment.demo import run_demo

    quiet_lightning()
    if seeds is not None:
        sets = (*sets, f"seeds={seeds}")
    _print_result(
        run_demo(
            out=out, stays=stays, seed=seed, summaries=summaries, trainer_config=trainer_config, sets=sets
        )
    )


@click.command(name="run")
@click.option(
    "--config",
    "config_file",
    required=True,
    help="Experiment: a YAML file, or the name of a shipped one (demo, mimic_iv_mortality, ...).",
)
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=None,
    help="MIMIC folder (overrides the config's data.root).",
)
@click.option(
    "--note-root",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of the note tables, e.g. MIMIC-IV-Note's .../mimic-iv-note/2.2/note (overrides the "
    "config's data.note_root; default: --root's note/, else found beside a PhysioNet-layout --root).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder [the config's `out`, else runs/<name>]; finished stages are reused.",
)
@click.option(
    "--llm",
    "llm_config",
    default=None,
    help="LLM backend YAML for the summaries (overrides rag.llm), e.g. llm/smollm2.yaml.",
)
@_SEEDS
@_SET
@click.option(
    "--check",
    is_flag=True,
    help="Check everything the run needs (configs, MIMIC tables, KG, encoders, LLM, output) and stop.",
)
def run(
    config_file: str,
    root: Path | None,
    note_root: Path | None,
    out: Path | None,
    llm_config: str | None,
    seeds: int | None,
    sets: tuple[str, ...],
    check: bool,
) -> None:
    """Run every stage of one experiment (data, KG, entities, summaries, embeddings, training, report)."""
    import json

    from emerge.cli import quiet_lightning
    from emerge.experiment.config import load_experiment
    from emerge.experiment.runner import run_experiment

    if llm_config is not None:
        sets = (*sets, f"rag.llm={json.dumps(llm_config)}")
    if note_root is not None:
        sets = (*sets, f"data.note_root={json.dumps(str(note_root))}")
    if seeds is not None:
        sets = (*sets, f"seeds={seeds}")
    config = load_experiment(config_file, sets)
    resolved = config.resolve()
    if check:
        from emerge.experiment.preflight import check_experiment

        lines = check_experiment(resolved, root, out)
        seed_list = config.seed_list(resolved.trainer.seed)
        click.echo(
            f"{config.name}: ready to run; {len(resolved.models)} models x {len(config.tasks)} tasks x "
            f"{len(seed_list)} seed{'s' if len(seed_list) > 1 else ''} "
            f"({', '.join(resolved.models)}; {', '.join(config.tasks)})"
        )
        for line in lines:
            click.echo(f"  {line}")
        return
    quiet_lightning()
    _print_result(run_experiment(resolved, out=out, root=root))


COMMANDS = [demo, run]
