"""`train_and_evaluate`: train one model on one task, predict the test split, write the report.

Output folder layout (every file written atomically; a rerun skips or resumes):

    out_dir/emerge_manifest.json ownership (kind "emerge_training_run", key = hash of the settings); once
                                 the run is finished it also lists every file with its size and sha256
    out_dir/run_config.json      kind "emerge_training_run": model + trainer settings, task, data hash
    out_dir/checkpoints/         best-epoch=NNN.ckpt and last.ckpt (a killed run resumes from last.ckpt)
    out_dir/logs/version_0/      metrics.csv (CSVLogger); out_dir/tensorboard/ when enabled
    out_dir/model/               the best weights as config.json + model.safetensors (`load_model`)
    out_dir/predictions.parquet  stay_id, task, y_true, y_prob for the test split
    out_dir/metrics.json, metrics.md, plots/   the evaluation report (`emerge.metrics.report`)

A rerun with the same settings and data returns the finished result without training, if every
file is still as it was written (a damaged result is produced again: training resumes from the last
checkpoint, or starts over if that is damaged too). A rerun into a folder that holds another run's
settings, or a folder emerge did not write, is refused (no stale reuse, nothing of yours replaced).
Ctrl-C stops training with "interrupted" (exit 130); the next run resumes from last.ckpt.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emerge.metrics.report import load_metrics_json, write_report
from emerge.models.build import build_model
from emerge.models.config import ModelConfig
from emerge.models.persistence import save_model
from emerge.models.registry import get_model_class
from emerge.tasks import get_task, resolve_tasks
from emerge.training.config import TrainerConfig
from emerge.training.data import ModelReadyData
from foundation.artifacts import atomic_write_text, stable_hash, write_config
from foundation.checkpoints import checkpoint_problem
from foundation.errors import UserInputError
from foundation.interrupts import lightning_interrupts
from foundation.outputs import Manifest, claim_folder, verify, write_manifest

__all__ = ["TrainingResult", "train_and_evaluate", "RUN_KIND"]

logger = logging.getLogger(__name__)

RUN_KIND = "emerge_training_run"
RUN_FORMAT_VERSION = 1
RUN_CONFIG = "run_config.json"


@dataclass(frozen=True)
class TrainingResult:
    """What a run produced. `predictions[task]` holds "stay_id" [N], "y_true" [N] (NaN = unknown)
    and "y_prob" [N] for the test split (`val_predictions[task]` the same for the validation split,
    e.g. to stack models or calibrate); `metrics` has the metrics.json shape for this one model."""

    model_name: str
    task: str
    predictions: dict[str, dict[str, np.ndarray]]
    metrics: dict[str, Any]
    out_dir: Path
    best_checkpoint: str | None
    val_predictions: dict[str, dict[str, np.ndarray]] | None = None


def _claim_run(out_dir: Path, identity: dict[str, Any]) -> Manifest:
    """Mark `out_dir` as this run's folder (or check it is); refuse one that holds another run."""
    identity = json.loads(json.dumps(identity))
    key = stable_hash(identity)
    manifest = claim_folder(out_dir, RUN_KIND, key=key, info={"identity": identity}, what="run folder")
    if manifest.key != key:
        found = dict(manifest.info.get("identity") or {})
        changed = sorted(k for k in identity if found.get(k) != identity[k])
        raise UserInputError(
            f"{out_dir} holds a run with other settings (differs in {changed}); "
            "use a new output folder, or delete this one to start over."
        )
    if not (out_dir / RUN_CONFIG).is_file():
        write_config(out_dir, RUN_KIND, RUN_FORMAT_VERSION, identity, name=RUN_CONFIG)
    return manifest


def _finished(out_dir: Path, manifest: Manifest) -> bool:
    """Whether `out_dir` holds this run finished and whole; a damaged one is reopened for training."""
    if manifest.growing:
        return False
    problems = verify(out_dir, manifest)
    if not problems:
        return True
    logger.warning(
        "%s was damaged after the run finished (%s); producing it again", out_dir, "; ".join(problems[:3])
    )
    write_manifest(out_dir, RUN_KIND, 1, manifest.key, manifest.info, growing=True)
    return False


def _resume_point(last: Path) -> str | None:
    """last.ckpt if it exists and is what was written; a damaged one is removed (training starts over)."""
    if not last.is_file():
        return None
    problem = checkpoint_problem(last)
    if problem is None:
        try:
            torch.load(last, map_location="cpu", weights_only=True)
        except Exception as exc:  # any failure to read it means the file cannot be resumed from
            problem = f"it cannot be read ({str(exc).splitlines()[0][:200]})"
    if problem is not None:
        logger.warning("checkpoint %s: %s; training this model from the start", last, problem)
        last.unlink()
        Path(f"{last}.sha256").unlink(missing_ok=True)
        return None
    return str(last)


def _in_order(predicted: dict[str, torch.Tensor], stay_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Lightning's predictions (possibly gathered from several processes, with padding repeats) as one row
    per stay of `stay_ids`, in that order."""
    got = predicted["stay_id"].numpy()
    first = {int(s): i for i, s in reversed(list(enumerate(got)))}
    missing = [int(s) for s in stay_ids if int(s) not in first]
    if missing:
        raise RuntimeError(f"predictions lack {len(missing)} test stays (e.g. {missing[:3]})")
    rows = np.array([first[int(s)] for s in stay_ids], dtype=np.int64)
    return {"stay_id": got[rows], "prob": predicted["prob"].numpy()[rows], "y": predicted["y"].numpy()[rows]}


def _write_predictions(path: Path, tasks: tuple[str, ...], splits: dict[str, dict[str, np.ndarray]]) -> None:
    """predictions.parquet: stay_id, split ("test", "val"), task, y_true, y_prob."""
    import polars as pl

    frames = [
        pl.DataFrame(
            {
                "stay_id": out["stay_id"],
                "split": [split] * len(out["stay_id"]),
                "task": [t] * len(out["stay_id"]),
                "y_true": out["y"][:, k].astype(np.float64),
                "y_prob": out["prob"][:, k].astype(np.float64),
            }
        )
        for split, out in splits.items()
        for k, t in enumerate(tasks)
    ]
    tmp = path.with_name(f".{path.name}.tmp")
    pl.concat(frames).write_parquet(tmp)
    os.replace(tmp, path)


def _read_predictions(path: Path, split: str = "test") -> dict[str, dict[str, np.ndarray]]:
    import polars as pl

    df = pl.read_parquet(path)
    df = df.filter(pl.col("split") == split) if "split" in df.columns else df  # (older runs: test only)
    return {
        t: {
            "stay_id": g["stay_id"].to_numpy(),
            "y_true": g["y_true"].to_numpy(),
            "y_prob": g["y_prob"].to_numpy(),
        }
        for (t,), g in df.group_by("task", maintain_order=True)
    }


def train_and_evaluate(
    data: ModelReadyData | str | os.PathLike,
    model_config: ModelConfig,
    trainer_config: TrainerConfig,
    out_dir: str | os.PathLike,
    task: str = "mortality",
    *,
    expected_text_encoder: str | None = None,
    extra_callbacks: Sequence[Any] = (),
) -> TrainingResult:
    """Train `model_config` on the train split (early stopping on val), evaluate on test, write the report.

    Args:
        data: a `ModelReadyData` or the folder it was saved to.
        task: a registered task's name ("mortality", "readmission", ...) or "multitask".
        expected_text_encoder: refuse embeddings made by another encoder (None: no check).
        extra_callbacks: more Lightning callbacks (e.g. for tests or custom logging).
    """
    from lightning.pytorch import seed_everything

    from emerge.training.datamodule import EmergeDataModule
    from emerge.training.module import EmergeLightningModule
    from emerge.training.trainer import build_trainer

    if not isinstance(data, ModelReadyData):
        data = ModelReadyData.load(data)
    task_objects = resolve_tasks(task)
    tasks = tuple(t.name for t in task_objects)
    main_task = tasks[0] if len(tasks) == 1 or trainer_config.main_task is None else trainer_config.main_task
    if main_task not in tasks:
        raise UserInputError(
            f"main_task {main_task!r} is not one of the trained tasks {list(tasks)}; set main_task "
            "in the trainer config to one of them"
        )
    monitor = trainer_config.monitor_metric or get_task(main_task).monitor
    data.check_text_encoder(expected_text_encoder)
    if model_config.use_obs_mask and data.x_mask is None:
        raise UserInputError(
            "the model config has use_obs_mask: true but the data has no x_mask; "
            "build the data with observed masks or set use_obs_mask: false."
        )
    out_dir = Path(out_dir)
    name = model_config.display_name
    identity = {
        "model": model_config.model_dump(mode="json"),
        "trainer": trainer_config.identity(),
        "task": task,
        "data": data.fingerprint(get_model_class(model_config.variant).requires),
    }
    manifest = _claim_run(out_dir, identity)
    if _finished(out_dir, manifest):
        logger.info("%s: finished run found, reusing it", out_dir)
        best_file = out_dir / "best_checkpoint.txt"
        best = best_file.read_text().strip() or None if best_file.is_file() else None
        return TrainingResult(
            name,
            task,
            _read_predictions(out_dir / "predictions.parquet"),
            load_metrics_json(out_dir / "metrics.json"),
            out_dir,
            best,
            _read_predictions(out_dir / "predictions.parquet", "val") or None,
        )

    seed_everything(trainer_config.seed, workers=True, verbose=False)
    model = build_model(model_config, data.dims, len(tasks))
    dm = EmergeDataModule(
        data,
        tasks,
        main_task,
        modalities=model.requires,
        batch_size=trainer_config.batch_size,
        num_workers=trainer_config.num_workers,
        use_obs_mask=model_config.use_obs_mask,
    )
    module = EmergeLightningModule(
        model,
        tasks,
        lr=trainer_config.lr,
        weight_decay=trainer_config.weight_decay,
        hparams={
            "model": model_config.model_dump(mode="json"),
            "task": task,
            "trainer": trainer_config.model_dump(mode="json"),
        },
    )
    trainer, checkpoint = build_trainer(
        trainer_config.model_copy(update={"main_task": main_task, "monitor_metric": monitor}),
        out_dir,
        tasks,
        extra_callbacks,
    )
    resume = None if trainer_config.fast_dev_run else _resume_point(out_dir / "checkpoints" / "last.ckpt")
    if resume:
        logger.info("resuming %s from %s", name, resume)
    with lightning_interrupts(trainer):
        trainer.fit(module, datamodule=dm, ckpt_path=resume, weights_only=True)

    best = checkpoint.best_model_path if checkpoint is not None and checkpoint.best_model_path else None
    scored = {}
    for split in ("test", "val"):  # scored by the best checkpoint's weights
        with lightning_interrupts(trainer):
            trainer.predict(
                module,
                dataloaders=dm.loader(split),
                ckpt_path=best,
                return_predictions=False,
                weights_only=True,
            )
        scored[split] = _in_order(module.predictions, data.stay_id.numpy()[dm.indices[split]])
    out = scored["test"]

    def by_task(part: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
        return {
            t: {"stay_id": part["stay_id"], "y_true": part["y"][:, k], "y_prob": part["prob"][:, k]}
            for k, t in enumerate(tasks)
        }

    predictions = by_task(out)
    report_input = {t: {name: (p["y_true"], p["y_prob"])} for t, p in predictions.items()}
    if trainer.is_global_zero:
        save_model(module.model, out_dir / "model", tasks)
        _write_predictions(out_dir / "predictions.parquet", tasks, scored)
        metrics = write_report(
            out_dir, report_input, n_bootstrap=trainer_config.n_bootstrap, seed=trainer_config.seed
        )
        atomic_write_text(out_dir / "best_checkpoint.txt", (best or "") + "\n")
        write_manifest(out_dir, RUN_KIND, 1, manifest.key, manifest.info)  # finished: every file listed
    else:
        from emerge.metrics.report import build_metrics

        metrics = build_metrics(
            report_input, n_bootstrap=trainer_config.n_bootstrap, seed=trainer_config.seed
        )
    return TrainingResult(name, task, predictions, metrics, out_dir, best, by_task(scored["val"]))
