"""`emerge demo`: the whole pipeline on the bundled defaults, end to end, resumable.

The demo is the shipped experiment `demo` (configs/experiment/demo.yaml: synthetic cohort in MIMIC-IV
layout, starter KG, SmolLM2 summaries, MiniLM embeddings, the fusion model with its baselines and
ablations for both tasks) run by `emerge.experiment.run_experiment`; the options of `emerge demo` are
`--set` overrides of its fields, exactly as `emerge run --config demo --set ...` would apply them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from emerge.experiment.config import ExperimentConfig, config_path, experiment_path, load_experiment, reads
from emerge.experiment.runner import ExperimentResult

__all__ = ["demo_overrides", "demo_config", "run_demo"]


def demo_overrides(
    out: str | Path = "runs/demo",
    stays: int | None = None,
    seed: int | None = None,
    *,
    summaries: bool = True,
    trainer_config: str | Path | None = None,
) -> list[str]:
    """`emerge demo`'s options as `a.b=value` overrides of the demo experiment (None keeps its value).

    Without summaries the RAG stage is off and the models that read the summary are left out.
    """
    sets = [f"out={json.dumps(str(out))}"]
    if stays is not None:
        sets.append(f"data.synthetic.stays={stays}")
    if seed is not None:
        sets += [f"data.synthetic.seed={seed}", f"rag.settings.seed={seed}"]
    if trainer_config is not None:
        sets.append(f"trainer={json.dumps(str(trainer_config))}")
    if not summaries:
        from emerge.models.config import ModelConfig

        models = ExperimentConfig.from_yaml(experiment_path("demo")).models
        kept = [
            m for m in models if not reads(ModelConfig.from_yaml(config_path(m, "model config")), "summary")
        ]
        sets += ["rag.enabled=false", f"models={json.dumps(kept)}"]
    return sets


def demo_config(
    out: str | Path = "runs/demo",
    stays: int | None = None,
    seed: int | None = None,
    *,
    summaries: bool = True,
    trainer_config: str | Path | None = None,
    sets: Sequence[str] = (),
) -> ExperimentConfig:
    """The demo experiment with `emerge demo`'s options (and any further `sets`) applied."""
    overrides = demo_overrides(out, stays, seed, summaries=summaries, trainer_config=trainer_config)
    return load_experiment("demo", [*overrides, *sets])


def run_demo(
    out: str | Path = "runs/demo",
    stays: int | None = None,
    seed: int | None = None,
    *,
    summaries: bool = True,
    trainer_config: str | Path | None = None,
    sets: Sequence[str] = (),
) -> ExperimentResult:
    """Run every stage of the demo."""
    from emerge.experiment.runner import run_experiment

    config = demo_config(out, stays, seed, summaries=summaries, trainer_config=trainer_config, sets=sets)
    return run_experiment(config.resolve(), out=out)
