"""Model config validation, YAML loading of every configs/model file, and the registry."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from emerge.models import (
    MODEL_REGISTRY,
    VARIANTS,
    InputDims,
    ModelConfig,
    build_model,
    get_model_class,
    register_model,
)
from foundation.errors import UserInputError
from tests.helpers.paths import CONFIGS

CONFIG_DIR = CONFIGS / "model"


def test_every_variant_is_registered():
    assert set(VARIANTS) == set(MODEL_REGISTRY)


def test_registry_refuses_duplicate_names():
    with pytest.raises(ValueError, match="already registered"):

        @register_model("emerge_full")
        class Other(torch.nn.Module):
            pass

    assert MODEL_REGISTRY["emerge_full"].__name__ == "EmergeFullModel"


def test_unknown_variant_lists_the_valid_ones():
    with pytest.raises(UserInputError, match="emerge_full"):
        get_model_class("emerge_fll")
    with pytest.raises(ValidationError, match="emerge_full"):
        ModelConfig(variant="emerge_fll")


def test_config_is_validated_and_frozen():
    with pytest.raises(ValidationError, match="divisible"):
        ModelConfig(hidden_dim=10, num_heads=4)
    with pytest.raises(ValidationError, match="extra"):
        ModelConfig(hiden_dim=8)
    cfg = ModelConfig()
    with pytest.raises(ValidationError):
        cfg.hidden_dim = 4
    assert cfg.display_name == "emerge_full"


def test_every_model_yaml_loads_and_builds():
    files = sorted(CONFIG_DIR.glob("*.yaml"))
    assert {f.stem for f in files} >= set(VARIANTS)
    dims = InputDims(ts_features=61, obs_mask_features=17, text_dim=16)
    batch = {
        "x": torch.randn(2, 48, 61),
        "x_mask": torch.ones(2, 48, 17),
        "notes": torch.randn(2, 3, 16),
        "notes_mask": torch.ones(2, 3, dtype=torch.bool),
        "summary": torch.randn(2, 2, 16),
        "summary_mask": torch.ones(2, 2, dtype=torch.bool),
    }
    for f in files:
        cfg = ModelConfig.from_yaml(f)
        assert build_model(cfg, dims, 2).eval()(batch).shape == (2, 2), f.name


def test_bad_yaml_names_file_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("variant: emerge_full\nhidden_dim: -3\n")
    with pytest.raises(UserInputError, match=r"(?s)bad.yaml.*hidden_dim"):
        ModelConfig.from_yaml(bad)
    with pytest.raises(UserInputError, match="not found"):
        ModelConfig.from_yaml(tmp_path / "nope.yaml")
