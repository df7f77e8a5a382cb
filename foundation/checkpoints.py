"""Training checkpoints that are trusted only when they are what was written.

A checkpoint is a zip of tensors: a few KiB zeroed inside one (a disk error, an interrupted copy)
still loads, and training would resume from corrupted weights without any error. `verified_checkpoint_io()`
is a Lightning `CheckpointIO` that writes `<checkpoint>.sha256` beside every checkpoint it saves and,
when resuming, refuses a checkpoint whose content no longer matches (`ArtifactError` naming the file;
delete it to start that run over). Checkpoints without a sidecar (written elsewhere) load as before.
Lightning is imported only when the plugin is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from foundation.artifacts import atomic_write_text, content_digest
from foundation.errors import ArtifactError

__all__ = ["verified_checkpoint_io", "checkpoint_problem"]


def _sidecar(path: str | os.PathLike) -> Path:
    return Path(f"{path}.sha256")


def checkpoint_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be trusted (None if it matches its sidecar, or has none)."""
    sidecar = _sidecar(path)
    if not sidecar.is_file():
        return None
    if not Path(path).is_file():
        return "it is missing"
    if content_digest(path) != sidecar.read_text(encoding="utf-8").strip():
        return "its content changed after it was written"
    return None


def verified_checkpoint_io():
    """A `TorchCheckpointIO` that records a sha256 beside each checkpoint and checks it when loading."""
    from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

    class VerifiedCheckpointIO(TorchCheckpointIO):
        def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
            _sidecar(path).unlink(missing_ok=True)  # never a stale sidecar beside a new file
            super().save_checkpoint(checkpoint, path, storage_options)
            atomic_write_text(_sidecar(path), content_digest(path) + "\n")

        def load_checkpoint(self, path, map_location=lambda storage, loc: storage, weights_only=None):
            problem = checkpoint_problem(path)
            if problem is not None:
                raise ArtifactError(
                    f"checkpoint {path} cannot be resumed from: {problem}; delete it (and "
                    f"{_sidecar(path).name}) to train this run from the start"
                )
            return super().load_checkpoint(path, map_location=map_location, weights_only=weights_only)

        def remove_checkpoint(self, path) -> None:
            super().remove_checkpoint(path)
            _sidecar(path).unlink(missing_ok=True)

    return VerifiedCheckpointIO()
