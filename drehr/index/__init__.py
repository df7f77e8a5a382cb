"""Chunk index: FAISS over chunk embeddings with a chunk -> patient map, single- and multi-patient search."""

from drehr.index.build import encode_into_index, read_chunk_table
from drehr.index.chunk_index import ChunkIndex, SearchResult
from drehr.index.config import IndexConfig, IndexKind
from drehr.index.encoder import Encoder, EncoderMismatchError, check_encoder_matches
from drehr.index.topk import rank_all, top_k

__all__ = ["ChunkIndex", "SearchResult", "IndexConfig", "IndexKind", "Encoder", "EncoderMismatchError",
           "check_encoder_matches", "encode_into_index", "read_chunk_table", "top_k", "rank_all"]
