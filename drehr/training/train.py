"""`train_retriever`: one resumable training run from a TrainConfig and examples to a saved BiEncoder.

Output folder layout:
  checkpoints/last.ckpt   Lightning checkpoint every `checkpoint_every_n_steps` steps (resume point)
  logs/                   CSV logs (train/loss per step)
  model/                  the trained BiEncoder (LoRA merged), loadable by BiEncoder and SentenceTransformer
  done.json               settings, steps and final loss of the finished run
  emerge_manifest.json    ownership, the run's key (settings + data), and, once finished, every file with its
                          sha256: a rerun with the same key into a whole finished folder is skipped

The folder must be new, empty or a training run folder emerge wrote (`foundation.outputs.claim_folder`);
Ctrl-C stops with "interrupted" and `--resume` continues from the last checkpoint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from drehr.data.examples import TrainingExample, read_examples
from drehr.training.config import TrainConfig
from foundation.artifacts import atomic_write_text, file_fingerprint, stable_hash
from foundation.checkpoints import verified_checkpoint_io
from foundation.errors import UserInputError
from foundation.interrupts import lightning_interrupts
from foundation.outputs import claim_folder, verify, write_manifest

__all__ = ["train_retriever"]

logger = logging.getLogger(__name__)

RUN_KIND = "drehr_training_run"


def _run_key(config: TrainConfig, data: str | Path | Sequence[TrainingExample]) -> str:
    if isinstance(data, (str, Path)):
        identity = file_fingerprint(data)
    else:
        identity = [(e.anchor, e.positives, e.labels) for e in data]
    return stable_hash(config.model_dump(mode="json"), identity)


def train_retriever(
    config: TrainConfig,
    data: str | Path | Sequence[TrainingExample],
    out_dir: str | Path,
    resume: bool = False,
) -> Path:
    """Train a BiEncoder on `data` (a JSONL path or examples) into `out_dir`; return the model folder.

    A finished run with the same settings and data is skipped. With `resume`, training continues
    from `out_dir/checkpoints/last.ckpt` (a killed run picks up where its last checkpoint was);
    without it, an existing checkpoint is an error rather than being silently overwritten.
    """
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from drehr.model import BiEncoder
    from drehr.training.data import Collator, RetrieverDataModule
    from drehr.training.lora import apply_lora
    from drehr.training.module import BiEncoderModule
    from drehr.training.strategy import build_strategy

    out = Path(out_dir)
    model_dir, done_file, ckpt_dir = out / "model", out / "done.json", out / "checkpoints"
    if isinstance(data, (str, Path)):
        examples = list(read_examples(data))  # checks every line
        if not examples:
            raise UserInputError(f"{data} holds no training examples.")
    else:
        examples = list(data)
    key = _run_key(config, data)
    manifest = claim_folder(out, RUN_KIND, key=key, what="--out")
    if not manifest.growing and manifest.key == key:
        problems = verify(out, manifest)
        if not problems:
            logger.info("%s already holds this finished run (%s); skipping", out, key)
            return model_dir
        logger.warning(
            "%s was damaged after the run finished (%s); training it again", out, "; ".join(problems[:3])
        )
    if (ckpt_dir / "last.ckpt").exists() and not resume:
        raise UserInputError(
            f"{ckpt_dir} already holds a checkpoint; pass --resume to continue that run, "
            f"or choose a new --out folder."
        )
    write_manifest(out, RUN_KIND, 1, key, growing=True)  # open for this run until it finishes
    L.seed_everything(config.seed, workers=True)
    model = BiEncoder.from_pretrained(
        config.base_model, pooling=config.pooling, query_instruction=config.query_instruction
    )
    if config.gradient_checkpointing:
        model.backbone.gradient_checkpointing_enable()
    if config.lora is not None:
        apply_lora(model, config.lora)
    anchor_len, positive_len = (
        (config.passage_max_length, config.query_max_length)
        if config.anchor_side == "passage"
        else (config.query_max_length, config.passage_max_length)
    )
    collator = Collator(model, config.anchor_side, anchor_len, positive_len)
    datamodule = RetrieverDataModule(
        examples,
        collator,
        config.anchors_per_batch,
        config.positives_per_anchor,
        config.num_workers,
        config.seed,
    )
    module = BiEncoderModule(model, config)
    module.train()  # transformers loads models in eval mode; Lightning keeps the mode it finds (dropout on)
    checkpoint = ModelCheckpoint(
        dirpath=ckpt_dir, save_last=True, save_top_k=0, every_n_train_steps=config.checkpoint_every_n_steps
    )
    trainer = L.Trainer(
        max_epochs=config.epochs,
        max_steps=config.max_steps,
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=build_strategy(config),
        precision=config.precision,
        accumulate_grad_batches=config.accumulate_grad_batches,
        gradient_clip_val=config.gradient_clip_val,
        log_every_n_steps=config.log_every_n_steps,
        callbacks=[checkpoint],
        logger=CSVLogger(out, name="logs"),
        default_root_dir=out,
        plugins=[] if config.strategy.startswith("deepspeed") else [verified_checkpoint_io()],
        enable_model_summary=False,
    )
    with lightning_interrupts(trainer):
        trainer.fit(module, datamodule=datamodule, ckpt_path="last" if resume else None, weights_only=True)
    # also a checkpoint at the very end (collective: every rank calls it), so a resume with more
    # epochs starts from here
    trainer.save_checkpoint(ckpt_dir / "last.ckpt")
    if trainer.is_global_zero:
        model.save_pretrained(model_dir)
        final = trainer.callback_metrics.get("train/loss")
        atomic_write_text(
            done_file,
            json.dumps(
                {
                    "run_key": key,
                    "global_step": trainer.global_step,
                    "epochs": trainer.current_epoch,
                    "final_loss": None if final is None else float(final),
                    "fingerprint": model.fingerprint,
                    "truncated": collator.truncated,
                    "config": config.model_dump(mode="json"),
                },
                indent=2,
            )
            + "\n",
        )
        write_manifest(out, RUN_KIND, 1, key)  # finished: every file listed with its checksum
    logger.info("trained %d steps; model saved to %s", trainer.global_step, model_dir)
    return model_dir
