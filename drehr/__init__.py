"""DR.EHR: a dense retriever for EHR notes (bi-encoder, two-stage training, FAISS index, CliniQ
evaluation). Importable on its own; imports only `kg`.

`BiEncoder` is exported lazily so that `import drehr.chunking` does not import torch.
"""

from __future__ import annotations

__all__: list[str] = ["BiEncoder"]


def __getattr__(name: str):
    if name == "BiEncoder":
        from drehr.model import BiEncoder

        return BiEncoder
    raise AttributeError(f"module 'drehr' has no attribute {name!r}")
