"""`TrainConfig`: every setting of a retriever training run, read from YAML and validated once.

One file per recipe in configs/retriever/: stage1_minilm.yaml (DR.EHR stage I, knowledge
injection), stage2_minilm.yaml (stage II, synthetic data, from the stage I model), qa_minilm.yaml
(question-passage pairs, InfoNCE), large_nvembed_lora.yaml (7B decoder, LoRA, DeepSpeed, bf16).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from foundation.config_io import load_config

__all__ = ["MultiSimilaritySettings", "InfoNCESettings", "LoraSettings", "TrainConfig", "load_train_config"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MultiSimilaritySettings(_Frozen):
    """DR.EHR's loss: Multi-Similarity with alpha 2, beta 50, lambda 0.5, mining margin 0.1."""

    name: Literal["multi_similarity"] = "multi_similarity"
    alpha: float = Field(default=2.0, gt=0)
    beta: float = Field(default=50.0, gt=0)
    base: float = 0.5
    margin: float = Field(default=0.1, ge=0)


class InfoNCESettings(_Frozen):
    """In-batch InfoNCE for the QA recipe."""

    name: Literal["info_nce"] = "info_nce"
    temperature: float = Field(default=0.05, gt=0)
    symmetric: bool = True


class LoraSettings(_Frozen):
    """peft LoRA on the attention projections (DR.EHR large: r 16, alpha 32, dropout 0.1, q/v).

    `target_modules` None picks q_proj/v_proj (decoders) or query/value (BERT-style) by looking
    at the model's module names.
    """

    r: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    target_modules: tuple[str, ...] | None = None


class TrainConfig(_Frozen):
    """A training run. Lengths are the training ones (DR.EHR: 160 chunk tokens, 16 entity tokens);
    the saved model keeps its own (evaluation) lengths."""

    base_model: str = "default"
    pooling: Literal["cls", "mean", "last"] | None = None
    query_instruction: str | None = None
    anchor_side: Literal["passage", "query"] = "passage"
    passage_max_length: int = Field(default=160, ge=2)
    query_max_length: int = Field(default=16, ge=2)
    loss: Annotated[MultiSimilaritySettings | InfoNCESettings, Field(discriminator="name")] = (
        MultiSimilaritySettings()
    )
    anchors_per_batch: int = Field(default=32, ge=1)
    positives_per_anchor: int = Field(default=128, ge=1)
    epochs: int = Field(default=3, ge=1)
    max_steps: int = -1
    lr: float = Field(default=1e-4, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    accumulate_grad_batches: int = Field(default=1, ge=1)
    gradient_clip_val: float | None = 1.0
    gradient_checkpointing: bool = False
    lora: LoraSettings | None = None
    accelerator: Literal["auto", "cpu", "gpu"] = "auto"
    devices: int | Literal["auto"] = "auto"
    num_nodes: int = Field(default=1, ge=1)
    strategy: Literal["auto", "ddp", "ddp_spawn", "deepspeed_stage_2", "deepspeed_stage_2_offload"] = "auto"
    precision: Literal["32-true", "bf16-mixed", "bf16-true", "16-mixed"] = "32-true"
    gather_across_processes: bool = True
    num_workers: int = Field(default=0, ge=0)
    checkpoint_every_n_steps: int = Field(default=500, ge=1)
    log_every_n_steps: int = Field(default=10, ge=1)
    seed: int = 42


def load_train_config(path: str | Path, **overrides) -> TrainConfig:
    """Read a YAML TrainConfig; a missing file or a bad field is a UserInputError naming it."""
    return load_config(
        TrainConfig, path, "training config", overrides=overrides, hint="pass one of configs/retriever/*.yaml"
    )
