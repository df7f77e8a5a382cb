"""Build a model from its config: `build_model(config, dims, num_outputs)`."""

from __future__ import annotations

# Importing the variant modules registers them.
from emerge.models import concat, fusion, released, unimodal  # noqa: F401
from emerge.models.base import EmergeModel
from emerge.models.config import InputDims, ModelConfig
from emerge.models.registry import get_model_class

__all__ = ["build_model"]


def build_model(config: ModelConfig, dims: InputDims, num_outputs: int) -> EmergeModel:
    """Instantiate the class registered under `config.variant`."""
    return get_model_class(config.variant)(config, dims, num_outputs)
