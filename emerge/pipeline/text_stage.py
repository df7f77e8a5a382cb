"""The text stage of the pipeline: the frozen encoder and per-stay embedding of notes / summaries."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from emerge.text.embed import StayEmbeddings, TextEncoder, embed_stay_texts

__all__ = ["load_default_encoder", "embed_texts"]


def load_default_encoder(path_or_name: str | os.PathLike = "default") -> TextEncoder:
    """DR.EHR's BiEncoder; "default" is the bundled all-MiniLM-L6-v2 (max 256 tokens per chunk). A model
    folder that is not a sentence encoder is refused (`drehr.model.load_sentence_encoder`)."""
    from drehr.model import load_sentence_encoder

    return load_sentence_encoder(path_or_name, what="encoder")


def embed_texts(stay_ids: Sequence[int], texts: Mapping[int, Sequence[str]], encoder: TextEncoder,
                cache_dir: str | os.PathLike, max_chunks: int = 16) -> StayEmbeddings:
    """Embed each stay's texts as up to `max_chunks` 100-word chunks (10-word overlap), cached per encoder."""
    return embed_stay_texts(stay_ids, texts, encoder, cache_dir, max_chunks=max_chunks, chunk_words=100,
                            overlap=10, shard_size=512, batch_size=64)
