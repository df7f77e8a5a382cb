"""`emerge demo`: the whole pipeline on the bundled defaults, end to end, resumable.

The demo is the experiment configs/experiment/demo.yaml (synthetic cohort in MIMIC-IV layout,
starter KG, SmolLM2 summaries, MiniLM embeddings, the fusion model with its baselines and ablations
for both tasks) run by `emerge.pipeline.experiment.run_experiment`; the options of `emerge demo`
override a few of its fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from emerge.pipeline.experiment_config import CONFIGS, ExperimentConfig, config_path, reads
from foundation.config_io import validation_message
from foundation.errors import UserInputError

__all__ = ["DEMO_CONFIG", "demo_config", "run_demo"]

DEMO_CONFIG = CONFIGS / "experiment" / "demo.yaml"


def demo_config(out: str | Path = "runs/demo", stays: int | None = None, seed: int | None = None, *,
                summaries: bool = True, trainer_config: str | Path | None = None) -> ExperimentConfig:
    """configs/experiment/demo.yaml with `emerge demo`'s overrides applied (None keeps the file's value).

    Without summaries the RAG stage is off and the models that read the summary are left out.
    """
    body = ExperimentConfig.from_yaml(DEMO_CONFIG).model_dump(mode="json")
    body["out"] = str(out)
    if stays is not None:
        body["data"]["synthetic"]["stays"] = stays
    if seed is not None:
        body["data"]["synthetic"]["seed"] = seed
        body["rag"]["settings"]["seed"] = seed
    if trainer_config is not None:
        body["trainer"] = str(trainer_config)
    if not summaries:
        from emerge.models.config import ModelConfig

        body["rag"]["enabled"] = False
        body["models"] = [m for m in body["models"]
                          if not reads(ModelConfig.from_yaml(config_path(m, "model config")), "summary")]
    try:
        return ExperimentConfig(**body)
    except ValidationError as exc:
        raise UserInputError(validation_message(exc, "emerge demo options", "demo experiment")) from exc


def run_demo(out: str | Path = "runs/demo", stays: int | None = None, seed: int | None = None, *,
             summaries: bool = True, trainer_config: str | Path | None = None) -> dict[str, Any]:
    """Run every stage of the demo; returns the combined metrics (the shape of OUT/metrics.json)."""
    from emerge.pipeline.experiment import run_experiment

    config = demo_config(out, stays, seed, summaries=summaries, trainer_config=trainer_config)
    return run_experiment(config.resolve(), out=out)
