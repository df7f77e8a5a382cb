"""Build the `lightning.Trainer` of a run from a `TrainerConfig`: callbacks (early stopping,
resumable checkpoints), loggers and hardware settings."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from emerge.training.config import TrainerConfig
from foundation.checkpoints import verified_checkpoint_io
from foundation.errors import UserInputError

__all__ = ["build_trainer", "monitor_key"]


def monitor_key(config: TrainerConfig, tasks: tuple[str, ...]) -> str:
    """The logged metric that early stopping and checkpointing follow, e.g. val/mortality_auprc."""
    main = tasks[0] if len(tasks) == 1 or config.main_task is None else config.main_task
    return f"val/{main}_{config.monitor_metric or 'auprc'}"


def _loggers(config: TrainerConfig, out_dir: Path) -> list:
    loggers = []
    for name in config.loggers:
        if name == "csv":
            loggers.append(CSVLogger(out_dir, name="logs", version=0))
        elif name == "tensorboard":
            if (
                importlib.util.find_spec("tensorboard") is None
                and importlib.util.find_spec("tensorboardX") is None
            ):
                raise UserInputError(
                    "loggers includes 'tensorboard' but the tensorboard package is not installed; "
                    "`pip install tensorboard` or use loggers: [csv]."
                )
            loggers.append(TensorBoardLogger(out_dir, name="tensorboard", version=0))
    return loggers


def build_trainer(
    config: TrainerConfig,
    out_dir: str | Path,
    tasks: tuple[str, ...],
    extra_callbacks: Sequence[Callback] = (),
) -> tuple[L.Trainer, ModelCheckpoint | None]:
    """A Trainer writing checkpoints to out_dir/checkpoints (best + last.ckpt) and logs to out_dir/logs."""
    out_dir = Path(out_dir)
    monitor = monitor_key(config, tasks)
    callbacks: list[Callback] = []
    checkpoint = None
    if not config.fast_dev_run:
        checkpoint = ModelCheckpoint(
            dirpath=out_dir / "checkpoints",
            filename="best-{epoch:03d}",
            monitor=monitor,
            mode="max",
            save_top_k=1,
            save_last=True,
        )
        callbacks += [checkpoint, EarlyStopping(monitor=monitor, mode="max", patience=config.patience)]
    callbacks += list(extra_callbacks)
    trainer = L.Trainer(
        default_root_dir=out_dir,
        max_epochs=config.max_epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        precision=config.precision,
        deterministic=config.deterministic,
        gradient_clip_val=config.gradient_clip_val,
        fast_dev_run=config.fast_dev_run,
        callbacks=callbacks,
        logger=_loggers(config, out_dir) or False,
        log_every_n_steps=config.log_every_n_steps,
        enable_progress_bar=config.enable_progress_bar,
        enable_model_summary=False,
        enable_checkpointing=checkpoint is not None,
        plugins=[] if config.strategy.startswith("deepspeed") else [verified_checkpoint_io()],
    )
    return trainer, checkpoint
