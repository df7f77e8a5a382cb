"""A deterministic bag-of-words encoder for the kg tests (the tiny graph is `tiny_kg` in
tests/conftest.py)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest


def hashed_bag_encoder(dim: int = 64):
    """Deterministic bag-of-words encoder: each lower-cased word hashes to a fixed random unit
    vector; a text is the normalized sum. Texts sharing words have high cosine."""

    def vec(word: str) -> np.ndarray:
        seed = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
        return np.random.default_rng(seed).standard_normal(dim)

    def encode(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), dim), dtype=np.float64)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i] += vec(w)
            if not t.split():
                out[i] = vec("<empty>")
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out.astype(np.float32)

    return encode


@pytest.fixture
def bag_encoder():
    return hashed_bag_encoder()


@pytest.fixture
def make_bag_encoder():
    return hashed_bag_encoder
