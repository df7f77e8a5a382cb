"""Weight files: a content hash for fingerprints, and LoRA adapters merged into the base at save."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import torch

__all__ = ["weight_files", "hash_weight_files", "is_peft_model", "merged_base"]


def weight_files(directory: str | Path) -> list[Path]:
    """The weight files of a Hugging Face folder: *.safetensors, else *.bin, sorted by name."""
    directory = Path(directory)
    files = sorted(directory.glob("*.safetensors"))
    return files or sorted(directory.glob("*.bin"))


def hash_weight_files(files: list[Path], chunk_bytes: int = 1 << 23) -> str:
    """sha256 over the names and bytes of `files` (streamed, bounded memory); "" when there are none."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode("utf-8"))
        with open(path, "rb") as fh:
            while block := fh.read(chunk_bytes):
                digest.update(block)
    return digest.hexdigest() if files else ""


def is_peft_model(module: torch.nn.Module) -> bool:
    """True for a peft `PeftModel` (checked by class name, so peft is imported only when used)."""
    return any(cls.__name__ == "PeftModel" for cls in type(module).__mro__)


@contextlib.contextmanager
def merged_base(
    backbone: torch.nn.Module,
) -> Iterator[tuple[torch.nn.Module, dict[str, torch.Tensor] | None]]:
    """Yield (base model, state dict to save) with any LoRA adapter merged into the base weights.

    For a plain model: (backbone, None). For a PeftModel the adapter is merged in place
    (W += B A * alpha / r), the state dict is the base's with `.base_layer` names restored and the
    `lora_` tensors dropped, and the merge is undone on exit so training can go on.
    """
    if not is_peft_model(backbone):
        yield backbone, None
        return
    backbone.merge_adapter()
    try:
        base = backbone.get_base_model()
        state = {
            key.replace(".base_layer.", "."): value
            for key, value in base.state_dict().items()
            if "lora_" not in key
        }
        yield base, state
    finally:
        backbone.unmerge_adapter()
