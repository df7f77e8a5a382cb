"""Typed training settings (`TrainerConfig`).

What a run trains is a task entry (an argument of `train_and_evaluate`): a registered task's name
("mortality", "readmission", or one you registered, see `emerge.tasks`) or "multitask" (mortality and
readmission heads together, loss averaged over the labels that are known). Early stopping and
checkpoint selection follow a validation metric of the main task (the task itself, or `main_task` in
multitask mode): `monitor_metric`, else the task's own (AUPRC for both built-in tasks, as in EMERGE's
paper; its released code used AUROC).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from emerge.models.config import load_yaml_config

__all__ = ["TrainerConfig", "RESULT_FIELDS"]


class TrainerConfig(BaseModel):
    """Optimisation, stopping, hardware and logging settings.

    Attributes:
        max_epochs / batch_size / lr / weight_decay: AdamW training (EMERGE: batch 256, lr 1e-3).
        patience: epochs without improvement of the monitored metric before stopping.
        monitor_metric: "auprc" or "auroc" on the validation split, main task (None: the task's own).
        main_task: the task to monitor in multitask mode (None: the first trained task).
        accelerator / devices / strategy / num_nodes / precision: passed to `lightning.Trainer`
            ("ddp" with devices=2 on CPU uses the gloo backend).
        seed: seeds Python, numpy and torch (and dataloader workers) before the model is built.
        num_workers: dataloader worker processes.
        fast_dev_run: run one batch of train/val (a smoke test; no checkpoints, no early stopping).
        gradient_clip_val: clip the gradient norm (None: no clipping).
        loggers: "csv" (always available) and/or "tensorboard" (needs the tensorboard package).
        n_bootstrap: bootstrap resamples of the test set for confidence intervals.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_epochs: int = Field(50, ge=1)
    batch_size: int = Field(256, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-2, ge=0)
    patience: int = Field(10, ge=1)
    monitor_metric: Literal["auprc", "auroc"] | None = None
    main_task: str | None = None
    accelerator: Literal["cpu", "gpu", "cuda", "auto"] = "auto"
    devices: int | Literal["auto"] = 1
    strategy: Literal["auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true", "deepspeed_stage_2"] = (
        "auto"
    )
    num_nodes: int = Field(1, ge=1)
    precision: Literal["32-true", "16-mixed", "bf16-mixed"] = "32-true"
    seed: int = 42
    num_workers: int = Field(0, ge=0)
    fast_dev_run: bool = False
    deterministic: bool = False
    gradient_clip_val: float | None = Field(1.0, gt=0)
    loggers: tuple[Literal["csv", "tensorboard"], ...] = ("csv",)
    log_every_n_steps: int = Field(10, ge=1)
    enable_progress_bar: bool = False
    n_bootstrap: int = Field(1000, ge=1)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> TrainerConfig:
        return load_yaml_config(cls, path)

    def identity(self) -> dict:
        """The settings that change results (hardware, logging and progress bars left out)."""
        return self.model_dump(
            mode="json",
            exclude={
                "accelerator",
                "devices",
                "strategy",
                "num_nodes",
                "num_workers",
                "loggers",
                "enable_progress_bar",
                "log_every_n_steps",
            },
        )


RESULT_FIELDS = ("stay_id", "task", "y_true", "y_prob")
