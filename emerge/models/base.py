"""Shared interface of every model variant.

A model is a plain `nn.Module` whose `forward(batch)` takes a dict of tensors and returns logits
[B, K] (K = 1 for a single task, 2 for mortality + readmission). Batch keys:
    x            [B, T, F] float   time series (normalized, imputed)
    x_mask       [B, T, V] uint8   observed-value indicators (when the model uses them)
    notes        [B, Tn, D] float  note chunk embeddings;    notes_mask   [B, Tn] bool
    summary      [B, Ts, D] float  summary chunk embeddings; summary_mask [B, Ts] bool
`requires` names the text inputs a variant reads, so the training code can refuse data that lacks
them before training starts. `forward_details(batch)` also returns gate and attention weights.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from emerge.models.config import InputDims, ModelConfig
from foundation.errors import UserInputError

__all__ = ["EmergeModel"]


class EmergeModel(nn.Module):
    variant: ClassVar[str] = ""
    requires: ClassVar[frozenset[str]] = frozenset()  # subset of {"notes", "summary"}

    def __init__(self, config: ModelConfig, dims: InputDims, num_outputs: int):
        super().__init__()
        if num_outputs < 1:
            raise UserInputError(f"num_outputs must be >= 1, got {num_outputs}.")
        if self.requires and dims.text_dim == 0:
            raise UserInputError(
                f"model {config.variant!r} reads {sorted(self.requires)} but the data has no text "
                "(text_dim=0); "
                "embed the notes / summaries first or choose variant 'ts_only'."
            )
        self.config = config
        self.dims = dims
        self.num_outputs = num_outputs

    @staticmethod
    def text_inputs(batch: dict[str, torch.Tensor], key: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(chunks [B, T, D], mask [B, T] bool) for `key` in {"notes", "summary"}, or a clear error."""
        if key not in batch or f"{key}_mask" not in batch:
            raise UserInputError(
                f"the batch has no {key!r} / '{key}_mask' but this model reads them; "
                f"build the model-ready data with {key} embeddings or choose another variant."
            )
        return batch[key], batch[f"{key}_mask"].bool()

    def forward_details(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """{"logits": [B, K], plus variant-specific "gate" [B, M] and attention weights}."""
        raise NotImplementedError

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """batch -> logits [B, K]."""
        return self.forward_details(batch)["logits"]
