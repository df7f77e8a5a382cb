"""Texts to token ids with counted truncation, and padding of id lists into tensors.

Kept apart from the model so the training collate (which runs in data-loader workers) and
`BiEncoder.encode` share one tokenization, and so truncation is counted the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from foundation.errors import UserInputError

__all__ = ["TokenizedTexts", "check_texts", "tokenize_texts", "appends_eos", "pad_ids"]


@dataclass
class TokenizedTexts:
    """Unpadded token ids of a list of texts and how many of them were cut at `max_length`."""

    input_ids: list[list[int]]
    n_truncated: int
    max_length: int


def check_texts(texts: Sequence[str], what: str = "texts") -> list[str]:
    """Refuse a bare string, non-strings and empty or blank texts, naming their positions."""
    if isinstance(texts, str):
        raise UserInputError(
            f"{what} must be a list of strings, got one string ({texts[:40]!r}...); wrap it in a list."
        )
    texts = list(texts)
    bad_type = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad_type:
        raise UserInputError(
            f"{what}: items at positions {bad_type[:10]} are not strings "
            f"(first is {type(texts[bad_type[0]]).__name__}); pass a list of str."
        )
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise UserInputError(
            f"{what}: {len(empty)} empty or blank text(s) at positions {empty[:10]}; an empty text has no "
            f"meaningful embedding. Drop them before encoding."
        )
    return texts


def tokenize_texts(
    tokenizer, texts: Sequence[str], max_length: int, append_eos: bool = False
) -> TokenizedTexts:
    """Token ids of `texts` (special tokens included), each cut to at most `max_length` tokens.

    With `append_eos` the text is cut to `max_length - 1` and the EOS id appended (decoders with
    last-token pooling); a tokenizer that appends EOS itself (a saved decoder BiEncoder's, see
    `drehr.model.st_format.write_eos_template`) is cut at `max_length`, its EOS included, so both give
    the same ids. Truncated texts are counted, from the fast tokenizer's overflow when it has one, else by
    tokenizing once more without truncation.
    """
    limit = max_length - 1 if append_eos and not appends_eos(tokenizer) else max_length
    enc = tokenizer(list(texts), truncation=True, max_length=limit, padding=False)
    ids: list[list[int]] = enc["input_ids"]
    encodings = getattr(enc, "encodings", None)
    if encodings:
        n_truncated = sum(1 for e in encodings if e.overflowing)
    else:
        full = tokenizer(list(texts), truncation=False, padding=False)["input_ids"]
        n_truncated = sum(1 for row in full if len(row) > limit)
    if append_eos:
        eos = tokenizer.eos_token_id
        if eos is None:
            raise UserInputError(
                "append_eos is set but the tokenizer has no eos_token; set append_eos=False."
            )
        ids = [row if row and row[-1] == eos else row + [eos] for row in ids]
    return TokenizedTexts(input_ids=ids, n_truncated=n_truncated, max_length=max_length)


def appends_eos(tokenizer) -> bool:
    """Whether the tokenizer itself ends every text with its EOS token (its post-processor does)."""
    eos = tokenizer.eos_token_id
    ids = tokenizer("a")["input_ids"]
    return eos is not None and bool(ids) and ids[-1] == eos


def pad_ids(rows: Sequence[Sequence[int]], pad_id: int, side: str = "right") -> dict[str, torch.Tensor]:
    """Pad id lists to the longest: -> {"input_ids": [B, T] long, "attention_mask": [B, T] long}."""
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        n = len(row)
        if side == "left":
            input_ids[i, width - n :] = torch.tensor(row, dtype=torch.long)
            attention_mask[i, width - n :] = 1
        else:
            input_ids[i, :n] = torch.tensor(row, dtype=torch.long)
            attention_mask[i, :n] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask}
