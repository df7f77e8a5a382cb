"""Typed settings of the fusion network and its baselines (`ModelConfig`) and the input sizes
the data dictates (`InputDims`).

`ModelConfig.variant` picks the architecture (see `emerge.models.registry`):
    ts_only            time series alone (GRU or Transformer encoder, pooled, MLP head)
    notes_only         note chunk embeddings alone (projected, masked mean, MLP head)
    summary_only       RAG summary chunk embeddings alone
    concat             late concatenation of the three pooled vectors
    fusion_no_summary  bidirectional cross-attention + gate over time series and notes
    emerge_full        bidirectional cross-attention + gate over time series, notes and summary
    emerge_released    the released EMERGE code's single-token "cross-attention", for comparison
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from foundation.config_io import load_config

__all__ = ["Variant", "VARIANTS", "ModelConfig", "InputDims", "load_yaml_config"]

Variant = Literal[
    "ts_only",
    "notes_only",
    "summary_only",
    "concat",
    "concat_no_summary",
    "notes_summary",
    "fusion_no_summary",
    "ts_summary",
    "emerge_full",
    "emerge_released",
]
VARIANTS: tuple[str, ...] = Variant.__args__  # type: ignore[attr-defined]


def load_yaml_config(cls, path: str | os.PathLike):
    """Build pydantic model `cls` from a YAML file; errors name the file, the line and the bad field."""
    return load_config(cls, path, hint="pass a path such as configs/model/emerge_full.yaml")


class ModelConfig(BaseModel):
    """Architecture settings; validated when built, read-only afterwards.

    Attributes:
        variant: which architecture (module docstring).
        name: the model's name in reports; defaults to `variant`.
        hidden_dim: width H of every token and pooled vector (EMERGE: 128).
        ts_encoder: "gru" (EMERGE) or "transformer" over the 48 hourly steps.
        ts_layers: layers of the time-series encoder.
        num_heads: attention heads (EMERGE: 4); must divide hidden_dim.
        fusion_layers: stacked bidirectional cross-attention layers.
        ffn_mult: feed-forward width is ffn_mult * hidden_dim.
        norm: "pre" (LayerNorm before attention / feed-forward, the default: stable without warm-up)
            or "post" (after the residual sum, as in the original Transformer).
        dropout: dropout inside encoders and fusion blocks.
        head_dropout: dropout in the prediction head (EMERGE: 0.25).
        use_obs_mask: append the [48, 17] observed-value masks to the time-series input.
        ts_pool: how the fusion variants summarise the time series: "encoder" (default): the encoder's
            own pooled vector (the last GRU state), exactly the representation `ts_only` predicts from;
            "mean": the mean of the cross-attended time-series tokens (EMERGE's paper).
        fusion_output: "residual" (default): the time-series vector plus gated contributions of the
            text vectors, each gate a sigmoid that starts near `residual_gate_init` (so training starts
            from the time-series representation and adds text only where it helps); "gate" (EMERGE's
            paper): a softmax gate mixes the pooled modality vectors into one convex combination.
            `configs/model/*_paper.yaml` keep the paper's design; docs/model.md has the evidence.
        residual_gate_init: the initial value of the residual gates (sigmoid of their bias).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    variant: Variant = "emerge_full"
    name: str | None = None
    hidden_dim: int = Field(128, ge=1)
    ts_encoder: Literal["gru", "transformer"] = "gru"
    ts_layers: int = Field(1, ge=1)
    num_heads: int = Field(4, ge=1)
    fusion_layers: int = Field(1, ge=1)
    ffn_mult: int = Field(2, ge=1)
    norm: Literal["pre", "post"] = "pre"
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    head_dropout: float = Field(0.25, ge=0.0, lt=1.0)
    use_obs_mask: bool = True
    ts_pool: Literal["encoder", "mean"] = "encoder"
    fusion_output: Literal["residual", "gate"] = "residual"
    residual_gate_init: float = Field(0.1, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> ModelConfig:
        if self.hidden_dim % self.num_heads:
            raise ValueError(
                f"hidden_dim={self.hidden_dim} is not divisible by num_heads={self.num_heads}; "
                "pick a hidden_dim that is a multiple of num_heads."
            )
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.variant

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> ModelConfig:
        return load_yaml_config(cls, path)


class InputDims(BaseModel):
    """Sizes fixed by the data: F time-series features, V observed-mask columns, D text dimension.

    `obs_mask_features` and `text_dim` are 0 when the data has no masks / no text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ts_features: int = Field(61, ge=1)
    obs_mask_features: int = Field(17, ge=0)
    text_dim: int = Field(768, ge=0)
    steps: int = Field(48, ge=1)
