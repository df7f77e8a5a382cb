"""The encoder protocol the index and the evaluation code are written against.

`drehr.model.BiEncoder` follows it; so can any object with the same four members (a test stand-in,
a wrapper around another library). Embeddings are float32 and L2-normalized, so inner product is
cosine similarity and FAISS's `METRIC_INNER_PRODUCT` gives cosine rankings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from foundation.errors import UserInputError

__all__ = ["Encoder", "EncoderMismatchError", "check_encoder_matches", "as_query_matrix"]


@runtime_checkable
class Encoder(Protocol):
    """A text encoder: `encode` for passages, `encode_queries` for queries (may add an instruction).

    Both return float32 arrays of shape [n, dimension], each row L2-normalized. `fingerprint`
    identifies the weights and settings: two encoders with the same fingerprint give the same vectors.
    """

    dimension: int
    fingerprint: str

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, show_progress_bar: bool = False
    ) -> np.ndarray: ...

    def encode_queries(
        self, texts: Sequence[str], batch_size: int = 64, show_progress_bar: bool = False
    ) -> np.ndarray: ...


class EncoderMismatchError(UserInputError):
    """An index or cached embeddings were built by another encoder than the one asked to query them."""


def check_encoder_matches(encoder: Encoder, fingerprint: str, dimension: int, what: str) -> None:
    """Raise `EncoderMismatchError` unless `encoder` has this `dimension` and `fingerprint`.

    `what` names the artifact (e.g. "index /runs/idx") so that the message says where the mismatch is.
    """
    if int(encoder.dimension) != int(dimension):
        raise EncoderMismatchError(
            f"{what} holds {dimension}-dimensional vectors but the query encoder gives "
            f"{encoder.dimension}-dimensional ones (encoder fingerprint {encoder.fingerprint!r}); "
            f"query it with the encoder that built it, or rebuild it with `emerge retriever index`."
        )
    if str(encoder.fingerprint) != str(fingerprint):
        raise EncoderMismatchError(
            f"{what} was built by encoder {fingerprint!r}, but the query encoder is {encoder.fingerprint!r}; "
            f"vectors of different encoders are not comparable. Query it with the model that built it, "
            f"or rebuild it with `emerge retriever index --model <this model>`."
        )


def as_query_matrix(queries: np.ndarray, dimension: int) -> np.ndarray:
    """Check and reshape query vectors to a C-contiguous float32 [q, dimension] matrix."""
    q = np.asarray(queries, dtype=np.float32)
    if q.ndim == 1:
        q = q[None, :]
    if q.ndim != 2 or q.shape[1] != dimension:
        raise EncoderMismatchError(
            f"query vectors have shape {tuple(np.shape(queries))}, expected [n, {dimension}] "
            f"(the index's dimension); encode the queries with the encoder that built the index."
        )
    return np.ascontiguousarray(q)
