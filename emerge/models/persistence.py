"""Save / load a trained network as a directory: config.json (kind "emerge_model", the
ModelConfig, InputDims, output names) beside model.safetensors. No pickle: loading never runs code."""

from __future__ import annotations

import os
from pathlib import Path

from emerge.models.base import EmergeModel
from emerge.models.build import build_model
from emerge.models.config import InputDims, ModelConfig
from foundation.artifacts import read_config, write_config
from foundation.inputs import reading
from foundation.outputs import cached_step, check_whole

__all__ = ["save_model", "load_model", "MODEL_KIND", "MODEL_FORMAT_VERSION"]

MODEL_KIND = "emerge_model"
MODEL_FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"


def save_model(model: EmergeModel, directory: str | os.PathLike, outputs: tuple[str, ...]) -> Path:
    """Write `model`'s weights and the settings that rebuild it; `outputs` names the logit columns.

    `directory` must be new, empty or a model folder emerge wrote (a user's folder is refused).
    """
    from safetensors.torch import save_file

    def write(folder: Path) -> dict:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_FILE))
        write_config(
            folder,
            MODEL_KIND,
            MODEL_FORMAT_VERSION,
            {
                "model": model.config.model_dump(mode="json"),
                "dims": model.dims.model_dump(),
                "outputs": list(outputs),
            },
        )
        return {"outputs": list(outputs)}

    return cached_step(
        directory, MODEL_KIND, MODEL_FORMAT_VERSION, None, write, force=True, what="model folder"
    ).path


def load_model(directory: str | os.PathLike) -> tuple[EmergeModel, tuple[str, ...]]:
    """Rebuild a saved model (in eval mode) and return it with its output names."""
    from safetensors.torch import load_file

    directory = Path(directory)
    check_whole(directory, MODEL_KIND, "model folder", "train the model again")
    config = read_config(directory, MODEL_KIND, MODEL_FORMAT_VERSION)
    outputs = tuple(config["outputs"])
    model = build_model(ModelConfig(**config["model"]), InputDims(**config["dims"]), len(outputs))
    with reading(directory / WEIGHTS_FILE, "model weights", ours=True):
        model.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
    return model.eval(), outputs
