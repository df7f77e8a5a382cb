"""Query-to-corpus scorers for evaluation: dense (an `Encoder`), BM25 (bm25s), and their fusion.

A scorer is fitted on the corpus texts once, then `scores(queries)` yields blocks of scores
[b, n_corpus] (float32, higher is better), one block of `block_size` queries at a time, so memory is
O(block_size x corpus). CliniQ needs every chunk's score (MRR without cut-off, full per-patient lists),
which is why these score the whole corpus rather than returning a top-k.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from drehr.index.encoder import Encoder

__all__ = ["Scorer", "DenseScorer", "BM25Scorer", "FusionScorer", "reciprocal_rank_fusion"]

logger = logging.getLogger(__name__)


class Scorer(Protocol):
    name: str

    def fit(self, corpus: Sequence[str]) -> None: ...

    def scores(self, queries: Sequence[str]) -> Iterator[np.ndarray]: ...


class DenseScorer:
    """Cosine similarity of `encoder.encode_queries(q)` and `encoder.encode(corpus)` (both L2-normalized)."""

    def __init__(
        self, encoder: Encoder, batch_size: int = 64, block_size: int = 256, name: str = "dense"
    ) -> None:
        self.encoder, self.batch_size, self.block_size, self.name = encoder, batch_size, block_size, name
        self.corpus_vectors: np.ndarray | None = None

    def fit(self, corpus: Sequence[str]) -> None:
        self.corpus_vectors = self.encoder.encode(
            list(corpus), batch_size=self.batch_size, show_progress_bar=True
        )

    def scores(self, queries: Sequence[str]) -> Iterator[np.ndarray]:
        q = self.encoder.encode_queries(list(queries), batch_size=self.batch_size, show_progress_bar=False)
        for start in range(0, len(q), self.block_size):
            yield q[start : start + self.block_size] @ self.corpus_vectors.T


class BM25Scorer:
    """Okapi BM25 from bm25s (k1=1.5, b=0.75, English stopwords, the library's defaults)."""

    def __init__(self, k1: float = 1.5, b: float = 0.75, block_size: int = 256, name: str = "bm25") -> None:
        self.k1, self.b, self.block_size, self.name = k1, b, block_size, name
        self._model = None
        self._n = 0

    def fit(self, corpus: Sequence[str]) -> None:
        import bm25s

        self._model = bm25s.BM25(k1=self.k1, b=self.b)
        self._model.index(
            bm25s.tokenize(list(corpus), stopwords="en", show_progress=False), show_progress=False
        )
        self._n = len(corpus)

    def scores(self, queries: Sequence[str]) -> Iterator[np.ndarray]:
        import bm25s

        vocab = self._model.vocab_dict
        tokens = bm25s.tokenize(list(queries), stopwords="en", return_ids=False, show_progress=False)
        for start in range(0, len(tokens), self.block_size):
            block = np.zeros((len(tokens[start : start + self.block_size]), self._n), np.float32)
            for i, toks in enumerate(tokens[start : start + self.block_size]):
                known = [t for t in toks if t in vocab]
                if known:
                    block[i] = self._model.get_scores(known)
            yield block


def reciprocal_rank_fusion(score_blocks: Sequence[np.ndarray], k: float = 60.0) -> np.ndarray:
    """RRF (Cormack et al., 2009): sum over systems of 1 / (k + rank), rank from 1, ties by lower index.

    `score_blocks`: one [b, n] score array per system; returns fused scores [b, n].
    """
    fused = np.zeros(score_blocks[0].shape, np.float64)
    for scores in score_blocks:
        order = np.argsort(-scores, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(
            ranks, order, np.arange(1, scores.shape[1] + 1)[None, :].repeat(len(scores), 0), axis=1
        )
        fused += 1.0 / (k + ranks)
    return fused.astype(np.float32)


class FusionScorer:
    """Reciprocal rank fusion of several scorers (e.g. BM25 + dense)."""

    def __init__(
        self,
        scorers: Sequence[Scorer],
        k: float = 60.0,
        name: str = "bm25+dense_rrf",
        already_fitted: bool = False,
    ) -> None:
        """`already_fitted=True` reuses scorers fitted on the same corpus (no second corpus encoding)."""
        self.scorers, self.k, self.name, self.already_fitted = list(scorers), k, name, already_fitted

    def fit(self, corpus: Sequence[str]) -> None:
        if not self.already_fitted:
            for scorer in self.scorers:
                scorer.fit(corpus)

    def scores(self, queries: Sequence[str]) -> Iterator[np.ndarray]:
        for blocks in zip(*(s.scores(queries) for s in self.scorers), strict=True):
            yield reciprocal_rank_fusion(blocks, self.k)
