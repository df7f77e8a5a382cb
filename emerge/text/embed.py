"""Per-stay text -> a padded sequence of chunk embeddings, computed once per encoder and kept.

Each stay's texts (in time order) are cut into word chunks, every chunk is embedded by a frozen
encoder (any object with `encode(texts) -> [n, d] float32` and a `fingerprint`, e.g.
`drehr.model.BiEncoder`), and the stay becomes `emb [T, d]` with `mask [T]`. A stay with more than
`max_chunks` chunks keeps the LAST `max_chunks` (the text closest to the prediction time).

Work is done in shards of stays; each finished shard is written to `cache_dir` (a folder emerge
owns, `foundation.outputs.claim_folder`) under a key that hashes the encoder fingerprint, the settings
and the shard's texts, so a killed run resumes with the shards it finished, and a different encoder
or text never reuses a stale shard. Each shard file carries the sha256 of its arrays in its metadata;
a shard that does not load or does not match it is computed again.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file
from tqdm.auto import tqdm

from drehr.chunking import split_words
from foundation.artifacts import current_umask, stable_hash
from foundation.errors import UserInputError
from foundation.outputs import claim_folder

__all__ = ["TextEncoder", "StayEmbeddings", "embed_stay_texts"]

logger = logging.getLogger(__name__)


class TextEncoder(Protocol):
    fingerprint: str

    def encode(
        self, texts: list[str], batch_size: int = ..., show_progress_bar: bool = ...
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class StayEmbeddings:
    """`emb` [N, T, D] float32 and `mask` [N, T] bool (False = padding) for `stay_ids` [N]."""

    stay_ids: np.ndarray
    emb: np.ndarray
    mask: np.ndarray


def _stay_chunks(texts: Sequence[str], chunk_words: int, overlap: int, max_chunks: int) -> list[str]:
    chunks = [c for t in texts if t and t.strip() for c in split_words(t, chunk_words, overlap)]
    return chunks[-max_chunks:]


def _shard(
    encoder: TextEncoder, chunks: list[list[str]], dim: int | None, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    flat = [c for stay in chunks for c in stay]
    width = max((len(s) for s in chunks), default=0)
    vectors = encoder.encode(flat, batch_size=batch_size, show_progress_bar=False) if flat else None
    if vectors is not None:
        dim = vectors.shape[1]
    emb = np.zeros((len(chunks), max(width, 1), dim or 1), dtype=np.float32)  # [S, T, D]
    mask = np.zeros((len(chunks), max(width, 1)), dtype=bool)  # [S, T]
    pos = 0
    for i, stay in enumerate(chunks):
        emb[i, : len(stay)] = vectors[pos : pos + len(stay)] if stay else 0.0
        mask[i, : len(stay)] = True
        pos += len(stay)
    return emb, mask


CACHE_KIND = "stay_embeddings_cache"


def _digest(emb: np.ndarray, mask: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in (emb, mask):
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _load_shard(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """A cached shard, or None (with a warning) when it is absent, unreadable or not what was written."""
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="numpy") as fh:
            recorded = (fh.metadata() or {}).get("sha256")
        stored = load_file(str(path))
        emb, mask = stored["emb"], stored["mask"].astype(bool)
        if recorded is None or _digest(emb, stored["mask"]) != recorded:
            raise ValueError("its content does not match the checksum written with it")
    except Exception as exc:  # any failure to read a cache file means: compute the shard again
        logger.warning(
            "cached shard %s is damaged (%s); computing it again", path.name, str(exc).splitlines()[0][:120]
        )
        return None
    return emb, mask


def _save_shard(path: Path, emb: np.ndarray, mask: np.ndarray) -> None:
    mask_u8 = mask.astype(np.uint8)
    tmp = path.with_suffix(".tmp")
    save_file({"emb": emb, "mask": mask_u8}, str(tmp), metadata={"sha256": _digest(emb, mask_u8)})
    os.chmod(tmp, 0o666 & ~current_umask())
    os.replace(tmp, path)


def embed_stay_texts(
    stay_ids: Sequence[int],
    texts: Mapping[int, Sequence[str]],
    encoder: TextEncoder,
    cache_dir: str | os.PathLike,
    max_chunks: int = 16,
    chunk_words: int = 100,
    overlap: int = 10,
    shard_size: int = 512,
    batch_size: int = 64,
    dim: int | None = None,
) -> StayEmbeddings:
    """Embed every stay's texts (a stay missing from `texts` gets an all-False mask).

    Returns arrays padded to the longest stay (at most `max_chunks`), in `stay_ids` order.
    """
    if max_chunks <= 0 or shard_size <= 0:
        raise UserInputError(f"max_chunks and shard_size must be positive, got {max_chunks}, {shard_size}")
    stay_ids = [int(s) for s in stay_ids]
    cache = Path(cache_dir)
    claim_folder(cache, CACHE_KIND, what="embedding cache folder")
    settings = {"fp": encoder.fingerprint, "max_chunks": max_chunks, "words": chunk_words, "overlap": overlap}
    shards: list[tuple[np.ndarray, np.ndarray]] = []
    starts = range(0, len(stay_ids), shard_size)
    for start in tqdm(starts, desc="embedding texts", unit="shard", disable=len(starts) < 2):
        ids = stay_ids[start : start + shard_size]
        chunks = [_stay_chunks(texts.get(s, ()), chunk_words, overlap, max_chunks) for s in ids]
        path = cache / f"shard-{stable_hash(settings, ids, chunks)}.safetensors"
        cached = _load_shard(path)
        if cached is not None:
            shards.append(cached)
            continue
        emb, mask = _shard(encoder, chunks, dim, batch_size)
        dim = emb.shape[2] if mask.any() else dim
        _save_shard(path, emb, mask)
        shards.append((emb, mask))
    dims = {e.shape[2] for e, m in shards if m.any()}
    if len(dims) > 1:
        raise UserInputError(
            f"cached shards in {cache} have different dimensions {sorted(dims)}; delete the folder"
        )
    d = dims.pop() if dims else (dim or 1)
    width = max((e.shape[1] for e, _ in shards), default=1)
    emb = np.zeros((len(stay_ids), width, d), dtype=np.float32)
    mask = np.zeros((len(stay_ids), width), dtype=bool)
    row = 0
    for e, m in shards:
        n, t = m.shape
        if m.any():
            emb[row : row + n, :t] = e
        mask[row : row + n, :t] = m
        row += n
    logger.info(
        "embedded texts of %d stays (%d with text), up to %d chunks of %d dims",
        len(stay_ids),
        int(mask.any(1).sum()),
        width,
        d,
    )
    return StayEmbeddings(np.asarray(stay_ids, dtype=np.int64), emb, mask)
