"""DR.EHR: a dense retriever for EHR notes (bi-encoder, two-stage training, FAISS index, CliniQ
evaluation). Importable on its own; imports only `kg`.

`BiEncoder` (the model) and `Retriever` (a BiEncoder, its chunk index and the chunk texts, searched
and saved as one) are exported lazily so that `import drehr.chunking` does not import torch or faiss.
"""

from __future__ import annotations

__all__: list[str] = ["BiEncoder", "Retriever"]


def __getattr__(name: str):
    if name == "BiEncoder":
        from drehr.model import BiEncoder

        return BiEncoder
    if name == "Retriever":
        from drehr.retriever import Retriever

        return Retriever
    raise AttributeError(f"module 'drehr' has no attribute {name!r}")
