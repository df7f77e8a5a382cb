"""Texts (notes, RAG summaries) as sequences of chunk embeddings for the fusion model."""

from emerge.text.embed import StayEmbeddings, embed_stay_texts

__all__ = ["StayEmbeddings", "embed_stay_texts"]
