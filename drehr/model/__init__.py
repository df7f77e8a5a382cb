"""The DR.EHR bi-encoder: pooling, configuration, tokenization with counted truncation, and
`BiEncoder` (load, encode, train through `forward`, save in a sentence-transformers-compatible folder)."""

from drehr.model.bi_encoder import BiEncoder, Side, load_sentence_encoder
from drehr.model.config import BiEncoderConfig
from drehr.model.loading import DEFAULT_MODEL
from drehr.model.pooling import POOLING_MODES, Pooling, cls_pool, last_token_pool, mean_pool, pool

__all__ = [
    "BiEncoder",
    "load_sentence_encoder",
    "BiEncoderConfig",
    "Side",
    "DEFAULT_MODEL",
    "Pooling",
    "POOLING_MODES",
    "cls_pool",
    "mean_pool",
    "last_token_pool",
    "pool",
]
