"""DR.EHR: a dense retriever for EHR notes (bi-encoder, two-stage training, FAISS index, CliniQ
evaluation). Importable on its own; imports only `kg`."""

__all__: list[str] = []
