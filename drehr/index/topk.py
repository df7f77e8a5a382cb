"""Top-k selection over a score matrix, with a fixed order for ties (lower row first)."""

from __future__ import annotations

import numpy as np

__all__ = ["top_k", "rank_all"]


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The `k` best columns of each row of `scores` [q, n], best first.

    Returns `(columns [q, min(k, n)] int64, values [q, min(k, n)] float32)`. Ties are broken by the lower
    column index, so results are deterministic (FAISS's exact search breaks ties the same way).
    """
    scores = np.atleast_2d(scores)
    n = scores.shape[1]
    k = min(int(k), n)
    if k <= 0:
        return np.empty((scores.shape[0], 0), np.int64), np.empty((scores.shape[0], 0), np.float32)
    if k < n:
        # The k-th largest value per row; keep everything >= it (ties included), then sort stably.
        kth = np.partition(scores, n - k, axis=1)[:, n - k][:, None]
        cols = []
        for row, threshold in zip(scores, kth, strict=True):
            candidates = np.flatnonzero(row >= threshold)
            order = np.argsort(-row[candidates], kind="stable")[:k]
            cols.append(candidates[order])
        columns = np.stack(cols).astype(np.int64)
    else:
        columns = np.argsort(-scores, axis=1, kind="stable").astype(np.int64)
    values = np.take_along_axis(scores, columns, axis=1).astype(np.float32)
    return columns, values


def rank_all(scores: np.ndarray) -> np.ndarray:
    """Every column of `scores` [n] (one query) ordered best first, ties by lower index: [n] int64."""
    return np.argsort(-np.asarray(scores), kind="stable").astype(np.int64)
