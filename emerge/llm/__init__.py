"""Local LLM backends, the persistent output cache, resumable batches and structured output.

Importing this package is cheap: torch/transformers and vllm load only when a backend is built.

    from emerge.llm import build_backend, SamplingConfig, LLMCache, run_batch
    backend = build_backend("configs/llm/smollm2.yaml")
    with LLMCache("llm_cache.sqlite") as cache:
        texts = run_batch([("a", "Define sepsis.")], backend, SamplingConfig(max_new_tokens=64), cache)
"""

from emerge.llm.base import LLMBackend, Prompt, SamplingConfig, to_messages
from emerge.llm.batch import as_text_fn, run_batch
from emerge.llm.cache import LLMCache, cache_key
from emerge.llm.config import (
    LLMConfig,
    OpenAIConfig,
    TransformersConfig,
    VLLMConfig,
    default_cache_dir,
    load_llm_config,
    parse_llm_config,
)
from emerge.llm.factory import LazyBackend, backend_identity, build_backend, check_backend_ready
from emerge.llm.structured import (
    EntityAttempt,
    EntityResult,
    StructuredOutputError,
    generate_entities,
    parse_entities,
)

__all__ = [
    "LLMBackend",
    "Prompt",
    "SamplingConfig",
    "to_messages",
    "as_text_fn",
    "run_batch",
    "LLMCache",
    "cache_key",
    "LLMConfig",
    "OpenAIConfig",
    "TransformersConfig",
    "VLLMConfig",
    "default_cache_dir",
    "load_llm_config",
    "parse_llm_config",
    "build_backend",
    "backend_identity",
    "LazyBackend",
    "check_backend_ready",
    "EntityAttempt",
    "EntityResult",
    "StructuredOutputError",
    "generate_entities",
    "parse_entities",
]
