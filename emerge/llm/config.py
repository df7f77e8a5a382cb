"""Backend configs: one pydantic model per backend, read from YAML into a discriminated union.

    backend: transformers            # or vllm, openai
    model: null                      # null = the bundled SmolLM2-135M-Instruct GGUF
    sampling: {temperature: 0.0, max_new_tokens: 256}

`sampling` is the default decoding for jobs that use this config; commands may override it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from emerge.llm.base import SamplingConfig
from foundation.artifacts import cache_root
from foundation.config_io import load_yaml_mapping, validation_message
from foundation.errors import UserInputError

__all__ = [
    "TransformersConfig",
    "VLLMConfig",
    "OpenAIConfig",
    "LLMConfig",
    "load_llm_config",
    "parse_llm_config",
    "default_cache_dir",
]


def default_cache_dir() -> Path:
    """`$EMERGE_CACHE`, else `~/.cache/emerge` (foundation.artifacts.cache_root): converted GGUF
    models and the LLM output cache."""
    return cache_root()


class _Base(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    sampling: SamplingConfig = SamplingConfig()
    use_chat_template: bool = Field(
        True, description="Wrap prompts with the model's chat template (False: send raw text as completion)."
    )


class TransformersConfig(_Base):
    """Hugging Face transformers on CPU or GPU; loads a HF folder or a GGUF file.

    model: a folder with config.json + safetensors, or a `.gguf` file; None = bundled SmolLM2-135M-Instruct.
    convert_cache_dir: where a GGUF is cached after de-quantization, as safetensors (None = default cache
    dir / "gguf"); the first load of a GGUF takes ~30 s on 2 CPU cores, the cached one well under 1 s.
    """

    backend: Literal["transformers"] = "transformers"
    model: Path | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    batch_size: int = Field(32, ge=1)
    cpu_threads: int | None = Field(
        None,
        ge=1,
        description="torch CPU threads while generating (None = torch's default); 1 is much "
        "faster than the default when other processes compete for the cores.",
    )
    cache_converted: bool = True
    convert_cache_dir: Path | None = None
    prefix_cache: bool = Field(
        True, description="Run the prompts' common token prefix once per call and reuse its key/value cache."
    )
    max_context_tokens: int | None = Field(None, ge=16, description="Override the model's context window.")


class VLLMConfig(_Base):
    """vLLM on one or more GPUs (`pip install 'emerge-drehr[gpu]'`). `model` is a HF folder (or a GGUF
    file, which is converted to a HF folder first with the transformers backend's converter)."""

    backend: Literal["vllm"] = "vllm"
    model: Path | None = None
    tensor_parallel_size: int = Field(1, ge=1)
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    gpu_memory_utilization: float = Field(0.85, gt=0.0, le=1.0)
    max_model_len: int | None = Field(None, ge=16)
    enforce_eager: bool = False
    convert_cache_dir: Path | None = None


class OpenAIConfig(_Base):
    """An OpenAI-compatible chat-completions server on this machine (llama.cpp server, vLLM serve, ...).

    Off unless `allow_remote_patient_text: true`: MIMIC's data use agreement forbids sending patient text
    to outside services. Any host that is not loopback (127.0.0.0/8, ::1, localhost) is refused unless
    `allow_non_loopback: true` is also set. The API key, if any, is read from the environment variable
    named by `api_key_env`, never from the config file.

    Proxies: the environment's `http_proxy` / `https_proxy` / `all_proxy` are never used (a proxy would
    receive the prompts and could answer in the model's place). A loopback server is always reached
    directly; a non-loopback one goes through `proxy` only when the config names it.
    """

    backend: Literal["openai"] = "openai"
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str
    allow_remote_patient_text: bool = False
    allow_non_loopback: bool = False
    api_key_env: str | None = None
    timeout_s: float = Field(120.0, gt=0)
    max_concurrency: int = Field(4, ge=1)
    max_context_tokens: int = Field(8192, ge=16)
    tokenizer: Path | None = Field(
        None,
        description="A local HF tokenizer folder for exact token counts; "
        "None = estimate 1 token per 3 chars.",
    )
    proxy: str | None = Field(
        None,
        description="http(s) URL of a proxy for a non-loopback base_url "
        "(e.g. http://proxy.hospital.org:3128); None = connect directly. "
        "Environment proxy variables are never used.",
    )

    @field_validator("proxy")
    @classmethod
    def _http_proxy(cls, proxy: str | None) -> str | None:
        if proxy is None:
            return None
        parts = urlsplit(proxy)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"proxy {proxy!r} is not an http(s) URL; expected e.g. http://proxy.example.org:3128, "
                f"or remove `proxy` to connect directly"
            )
        return proxy


LLMConfig = Annotated[TransformersConfig | VLLMConfig | OpenAIConfig, Field(discriminator="backend")]
_ADAPTER: TypeAdapter = TypeAdapter(LLMConfig)
_BACKENDS = ("transformers", "vllm", "openai")


def parse_llm_config(data: dict, source: str = "<dict>") -> TransformersConfig | VLLMConfig | OpenAIConfig:
    """Validate a mapping into a backend config; errors name the source and the valid choices."""
    if not isinstance(data, dict):
        raise UserInputError(f"{source}: expected a mapping with a `backend` key, got {type(data).__name__}")
    data = dict(data)
    data.setdefault("backend", "transformers")
    if data["backend"] not in _BACKENDS:
        raise UserInputError(
            f"{source}: backend {data['backend']!r} is unknown; choose one of {list(_BACKENDS)}"
        )
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise UserInputError(validation_message(exc, source, "LLM config")) from exc


def load_llm_config(path: str | os.PathLike) -> TransformersConfig | VLLMConfig | OpenAIConfig:
    """Read a YAML backend config (see configs/llm/). Relative model paths stay relative to the cwd."""
    path = Path(path)
    data = load_yaml_mapping(path, "LLM config", "pass a YAML file such as configs/llm/smollm2.yaml")
    return parse_llm_config(data, source=str(path))
