"""Training a BiEncoder: typed config, generic (anchor, positives, labels) data with per-epoch
sampling, a thin LightningModule with cross-process negatives, LoRA, strategies, and the
resumable `train_retriever` run."""

from drehr.data.examples import TrainingExample
from drehr.training.config import (
    InfoNCESettings,
    LoraSettings,
    MultiSimilaritySettings,
    TrainConfig,
    load_train_config,
)
from drehr.training.data import Collator, PositiveSamplingDataset, RetrieverDataModule, concept_labels
from drehr.training.distributed import gather_with_grad
from drehr.training.lora import apply_lora, default_lora_targets
from drehr.training.module import BiEncoderModule, build_loss
from drehr.training.train import train_retriever

__all__ = [
    "TrainConfig",
    "MultiSimilaritySettings",
    "InfoNCESettings",
    "LoraSettings",
    "load_train_config",
    "TrainingExample",
    "concept_labels",
    "PositiveSamplingDataset",
    "Collator",
    "RetrieverDataModule",
    "gather_with_grad",
    "apply_lora",
    "default_lora_targets",
    "BiEncoderModule",
    "build_loss",
    "train_retriever",
]
