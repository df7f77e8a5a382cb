"""A tiny BERT and a tiny Llama written to folders, for fast tests of anything that needs a BiEncoder.

Hidden size 32, 2 layers, random weights seeded, so embeddings are deterministic. The BERT has a
word-level vocabulary given by the caller (plus BERT's special tokens); the Llama (a decoder: last-token
pooling, EOS appended) a byte-pair vocabulary trained on those words in the call, with Llama's
tokenizer class (BOS added, no EOS, left padding). Both are built offline. Not for real use.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

__all__ = ["TINY_VOCAB", "build_tiny_bert", "build_tiny_llama"]

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


def build_tiny_llama(
    directory: str | Path, words: Iterable[str] = TINY_VOCAB, hidden: int = 32, layers: int = 2, seed: int = 0
) -> Path:
    """Write a random tiny LlamaModel and a LlamaTokenizer (BPE trained on `words`) to `directory`."""
    import json

    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaModel, LlamaTokenizer

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(
        vocab_size=160,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=list("abcdefghijklmnopqrstuvwxyz0123456789.,;:-()/'"),
        show_progress=False,
    )
    bpe.train_from_iterator([" ".join(w.lower() for w in words)] * 3, trainer)
    trained = json.loads(bpe.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    tokenizer = LlamaTokenizer(vocab=trained["vocab"], merges=merges, add_bos_token=True)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaModel(config).save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory
