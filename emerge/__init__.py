"""EMERGE: retrieval-augmented multimodal clinical prediction (EHR data, local LLMs, RAG summaries,
a cross-attention fusion network, metrics and the `emerge` CLI)."""

__version__ = "0.1.0"
