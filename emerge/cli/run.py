"""`emerge demo` and `emerge run`: the whole pipeline."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="demo")
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True,
              help="Output folder; finished stages are reused on a rerun.")
@click.option("--stays", type=int, default=2000, show_default=True, help="Synthetic ICU stays to generate.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--summaries/--no-summaries", default=False, show_default=True,
              help="Write RAG summaries with the local LLM (stage 3); without, summary-reading models are skipped.")
@click.option("--trainer-config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Trainer YAML (default: configs/trainer/cpu_fast.yaml).")
def demo(out: Path, stays: int, seed: int, summaries: bool, trainer_config: Path | None) -> None:
    """Run the pipeline end to end on the bundled defaults (synthetic cohort, starter KG, MiniLM, SmolLM2)."""
    from emerge.pipeline.demo import run_demo

    run_demo(out=out, stays=stays, seed=seed, summaries=summaries, trainer_config=trainer_config)


COMMANDS = [demo]
