"""The DR.EHR bi-encoder: pooling, configuration, tokenization with counted truncation, device choice,
and `BiEncoder` (load, encode, train through `forward`, save in a sentence-transformers-compatible folder).

Names are exported lazily, so that `drehr.model.device` (read by configs) does not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "BiEncoder": "bi_encoder",
    "load_sentence_encoder": "bi_encoder",
    "Side": "bi_encoder",
    "BiEncoderConfig": "config",
    "DEFAULT_MODEL": "loading",
    "DEVICE_CHOICES": "device",
    "check_device": "device",
    "resolve_device": "device",
    "Pooling": "pooling",
    "POOLING_MODES": "pooling",
    "cls_pool": "pooling",
    "mean_pool": "pooling",
    "last_token_pool": "pooling",
    "pool": "pooling",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'drehr.model' has no attribute {name!r}")
    return getattr(importlib.import_module(f"drehr.model.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
