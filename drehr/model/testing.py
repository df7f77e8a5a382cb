"""A tiny BERT written to a folder, for fast tests of anything that needs a BiEncoder.

Hidden size 32, 2 layers, a word-level vocabulary given by the caller (plus BERT's special
tokens); random weights seeded, so embeddings are deterministic. Not for real use.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["TINY_VOCAB", "build_tiny_bert"]

TINY_VOCAB = (
    "heart failure chest pain kidney liver disease acute chronic fever cough sepsis diabetes insulin "
    "blood pressure high low patient has was given with and the of a in on for history denies "
    "pneumonia asthma copd stroke anemia cancer tumor infection lung renal cardiac glucose"
).split()


def build_tiny_bert(
    directory: str | Path, words: Iterable[str] = TINY_VOCAB, hidden: int = 32, layers: int = 2, seed: int = 0
) -> Path:
    """Write a random tiny BertModel and its WordPiece tokenizer to `directory`; return it."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(w.lower() for w in words)]
    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab_file=str(vocab_file), do_lower_case=True)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    BertModel(config).save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory
