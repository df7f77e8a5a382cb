"""Training and evaluation of the EMERGE networks with Lightning: the model-ready data contract,
the DataModule, the thin LightningModule, trainer settings and `train_and_evaluate`.

Names are imported lazily, so `from emerge.training import ModelReadyData` does not import
Lightning (the data pipeline and the CLI stay fast to start).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ModelReadyData": "data",
    "SPLITS": "data",
    "TrainerConfig": "config",
    "EmergeDataModule": "datamodule",
    "StayDataset": "datamodule",
    "EmergeLightningModule": "module",
    "masked_bce_with_logits": "loss",
    "build_trainer": "trainer",
    "monitor_key": "trainer",
    "train_and_evaluate": "run",
    "TrainingResult": "run",
    "make_synthetic_data": "synthetic",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emerge.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"emerge.training.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
