"""The settings of a `BiEncoder` that are not weights: pooling, lengths, query instruction.

Saved as `drehr_config.json` (kind "drehr.bi_encoder") beside the Hugging Face weights, so a saved
encoder says how it must be used, and so its fingerprint changes when any of this changes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from drehr.model.pooling import Pooling

__all__ = ["BiEncoderConfig", "CONFIG_KIND", "CONFIG_VERSION", "CONFIG_FILE"]

CONFIG_KIND = "drehr.bi_encoder"
CONFIG_VERSION = 1
CONFIG_FILE = "drehr_config.json"


class BiEncoderConfig(BaseModel):
    """How texts become vectors.

    - pooling: "cls" or "mean" for encoders, "last" (last real token) for decoders.
    - query_max_length / passage_max_length: token limits of each side (DR.EHR evaluates at 512;
      training overrides them with 16 for entities and 160 for chunks).
    - query_instruction: prepended to queries only (NV-Embed style "Instruct: ...\\nQuery: ").
    - append_eos: add the tokenizer's EOS token to every text (decoders with last-token pooling,
      so the pooled state has read the whole text).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    pooling: Pooling = "cls"
    query_max_length: int = Field(default=512, ge=2)
    passage_max_length: int = Field(default=512, ge=2)
    query_instruction: str = ""
    append_eos: bool = False
