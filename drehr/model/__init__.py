"""The DR.EHR bi-encoder: pooling, configuration, tokenization with counted truncation, and
`BiEncoder` (load, encode, train through `forward`, save in a sentence-transformers-compatible folder)."""

from drehr.model.bi_encoder import BiEncoder, Side
from drehr.model.config import BiEncoderConfig
from drehr.model.loading import DEFAULT_MODEL
from drehr.model.pooling import POOLING_MODES, Pooling, cls_pool, last_token_pool, mean_pool, pool

__all__ = ["BiEncoder", "BiEncoderConfig", "Side", "DEFAULT_MODEL", "Pooling", "POOLING_MODES", "cls_pool",
           "mean_pool", "last_token_pool", "pool"]
