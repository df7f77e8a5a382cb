"""Pooling token states into one vector per text: pure functions of tensors.

Encoders (BERT-style) use the [CLS] state or the mean over real tokens; decoders (Mistral, Llama,
Qwen) use the state of the last real token, wherever padding put it (left or right).
"""

from __future__ import annotations

from typing import Literal

import torch

__all__ = ["Pooling", "POOLING_MODES", "cls_pool", "mean_pool", "last_token_pool", "pool"]

Pooling = Literal["cls", "mean", "last"]
POOLING_MODES: tuple[str, ...] = ("cls", "mean", "last")


def cls_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """First position of each row: hidden [B, T, H] -> [B, H] (right padding assumed, as BERT pads)."""
    return hidden[:, 0]


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the states of real tokens: hidden [B, T, H], mask [B, T] -> [B, H]."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # [B, T, 1]
    summed = (hidden * mask).sum(dim=1)  # [B, H]
    counts = mask.sum(dim=1).clamp(min=1.0)  # [B, 1]
    return summed / counts


def last_token_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """State of the last real token of each row, for left or right padding: [B, T, H] -> [B, H].

    The last real token is the last position whose mask is 1: T - 1 - argmax(flip(mask)).
    """
    seq_len = attention_mask.shape[1]
    last = seq_len - 1 - attention_mask.flip(dims=[1]).to(torch.long).argmax(dim=1)  # [B]
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return hidden[rows, last]


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, mode: Pooling) -> torch.Tensor:
    """Dispatch to the pooling named by `mode` ("cls", "mean" or "last")."""
    if mode == "cls":
        return cls_pool(hidden, attention_mask)
    if mode == "mean":
        return mean_pool(hidden, attention_mask)
    if mode == "last":
        return last_token_pool(hidden, attention_mask)
    raise ValueError(f"pooling {mode!r} is not one of {POOLING_MODES}")
