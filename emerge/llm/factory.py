"""`build_backend(config)`: the one place where a backend config becomes a backend object.

Heavy libraries (torch/transformers, vllm) are imported only for the backend asked for. With
`lazy=True` the model is loaded only when something must really be generated, so a rerun whose
answers are all cached never loads it (a vLLM load takes minutes); the cache key (`name`, `model_id`)
is computed from the config and the weight files' fingerprints without loading anything.

`check_backend_ready(config)` (used by `emerge run --check`) says whether the backend could start: the
model path, the backend's package and the privacy flags, again without loading a model.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence

from emerge.llm.base import LLMBackend, Prompt, SamplingConfig
from emerge.llm.config import LLMConfig, OpenAIConfig, TransformersConfig, VLLMConfig, load_llm_config
from foundation.errors import UserInputError

__all__ = ["build_backend", "backend_identity", "LazyBackend", "check_backend_ready"]


def _as_config(config: LLMConfig | str | os.PathLike | None) -> LLMConfig:
    if config is None:
        return TransformersConfig()
    if isinstance(config, (TransformersConfig, VLLMConfig, OpenAIConfig)):
        return config
    return load_llm_config(config)


def backend_identity(config: LLMConfig) -> tuple[str, str]:
    """(name, model_id) that the backend built from `config` will have; loads no model.

    For the openai backend the privacy checks run here too, so a refused endpoint fails at once.
    """
    if isinstance(config, OpenAIConfig):
        from emerge.llm.openai_backend import check_endpoint_allowed

        check_endpoint_allowed(config)
        return "openai", config.model
    from emerge.llm.gguf import model_identity, resolve_model_path

    if isinstance(config, TransformersConfig):
        from emerge.llm.transformers_backend import transformers_model_id

        return "transformers", transformers_model_id(config)
    return "vllm", model_identity(resolve_model_path(config.model))


# Packages each local backend imports, and how to install the missing one.
_PACKAGES = {
    "transformers": (("torch", "transformers"), "reinstall the project: pip install emerge-drehr"),
    "vllm": (
        ("vllm",),
        "the vllm backend runs on GPUs only; install the gpu extra: pip install 'emerge-drehr[gpu]'",
    ),
}


def _require_packages(backend: str) -> None:
    """Raise `UserInputError` when a package the backend imports is not installed (found without
    importing)."""
    names, fix = _PACKAGES[backend]
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        raise UserInputError(
            f"the {backend} LLM backend needs the Python package {', '.join(missing)}, which is "
            f"not installed; {fix}"
        )


def check_backend_ready(config: LLMConfig | str | os.PathLike | None) -> None:
    """Raise `UserInputError` if the backend of `config` could not start; loads no model.

    Checked: the openai backend's privacy flags, proxy, API key variable and tokenizer folder; for
    transformers / vllm the backend's packages (found without importing them), the model path (not a
    placeholder, an existing .gguf file or a HF folder with config.json and safetensors; None = the
    bundled SmolLM2, whose package must be installed), and a `device: cuda` that has no GPU.
    """
    config = _as_config(config)
    if isinstance(config, OpenAIConfig):
        from emerge.llm.openai_backend import api_key, check_endpoint_allowed, check_tokenizer_folder

        check_endpoint_allowed(config)
        api_key(config)
        check_tokenizer_folder(config)
        return
    from emerge.llm.gguf import resolve_model_path

    _require_packages(config.backend)
    resolve_model_path(config.model)
    if isinstance(config, TransformersConfig) and config.device == "cuda":
        from emerge.llm.transformers_backend import pick_device

        pick_device(config.device)


def _backend_class(config: LLMConfig) -> type[LLMBackend]:
    if isinstance(config, TransformersConfig):
        from emerge.llm.transformers_backend import TransformersBackend

        return TransformersBackend
    if isinstance(config, VLLMConfig):
        from emerge.llm.vllm_backend import VLLMBackend

        return VLLMBackend
    from emerge.llm.openai_backend import OpenAIBackend

    return OpenAIBackend


def _build(config: LLMConfig) -> LLMBackend:
    return _backend_class(config)(config)


class LazyBackend(LLMBackend):
    """Stands for the backend of `config` and builds it on first use (generate or token counting)."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.name, self.model_id = backend_identity(config)
        self._backend: LLMBackend | None = None

    @property
    def preferred_batch_size(self) -> int:
        """The built backend's, known without building it: the config's batch_size, else its class's."""
        if self.built:
            return self.backend.preferred_batch_size
        return getattr(self.config, "batch_size", None) or _backend_class(self.config).preferred_batch_size

    @property
    def built(self) -> bool:
        return self._backend is not None

    @property
    def backend(self) -> LLMBackend:
        if self._backend is None:
            self._backend = _build(self.config)
            if (self._backend.name, self._backend.model_id) != (self.name, self.model_id):
                raise RuntimeError(
                    f"lazy backend identity {(self.name, self.model_id)} != "
                    f"built {(self._backend.name, self._backend.model_id)}"
                )
        return self._backend

    @property
    def max_context_tokens(self) -> int:
        return self.backend.max_context_tokens

    def count_tokens(self, text: str) -> int:
        return self.backend.count_tokens(text)

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig) -> list[str]:
        return self.backend.generate(prompts, sampling)

    def _generate(self, prompts: list[Prompt], sampling: SamplingConfig) -> list[str]:
        return self.backend._generate(prompts, sampling)

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


def build_backend(config: LLMConfig | str | os.PathLike | None = None, lazy: bool = False) -> LLMBackend:
    """A backend from a config object or a YAML path; None = the default CPU SmolLM2 backend.

    lazy: return a `LazyBackend` that loads the model only when it must generate or count tokens.
    """
    config = _as_config(config)
    return LazyBackend(config) if lazy else _build(config)
