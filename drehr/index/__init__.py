"""Chunk index: FAISS over chunk embeddings with a chunk -> patient map, single- and multi-patient search.

`ChunkIndex` is the low-level piece (vectors and ids); `drehr.Retriever` keeps one together with the
encoder that built it and the chunk texts, and is what a system that searches text should use.
"""

from drehr.index.build import EncodedShard, count_chunks, encode_chunks, iter_chunk_batches, read_chunk_table
from drehr.index.build_folder import build_chunk_index
from drehr.index.chunk_index import ChunkIndex, SearchResult
from drehr.index.config import IndexConfig, IndexKind
from drehr.index.encoder import Encoder, EncoderMismatchError, check_encoder_matches
from drehr.index.topk import rank_all, top_k

__all__ = [
    "ChunkIndex",
    "SearchResult",
    "IndexConfig",
    "IndexKind",
    "Encoder",
    "EncoderMismatchError",
    "check_encoder_matches",
    "encode_chunks",
    "EncodedShard",
    "count_chunks",
    "iter_chunk_batches",
    "read_chunk_table",
    "build_chunk_index",
    "top_k",
    "rank_all",
]
