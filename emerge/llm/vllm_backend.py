"""vLLM backend for GPUs: continuous batching, tensor parallelism across `tensor_parallel_size` GPUs.

vLLM is an optional dependency (the `gpu` extra) and is imported only when this backend is built.
`model` is a HF folder; a `.gguf` file (or None, the bundled SmolLM2) is first converted to a HF folder
by the same converter as the transformers backend, so vLLM never parses GGUF itself.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from emerge.llm.base import LLMBackend, Prompt, SamplingConfig, to_messages
from emerge.llm.config import VLLMConfig, default_cache_dir
from emerge.llm.gguf import converted_folder, model_identity, resolve_model_path
from foundation.errors import UserInputError

__all__ = ["VLLMBackend", "import_vllm"]

logger = logging.getLogger(__name__)


def import_vllm():
    """Import vllm or raise an ImportError naming the extra to install."""
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(
            "the vllm backend needs the `vllm` package (GPU only); install the gpu extra: "
            "pip install 'emerge-drehr[gpu]'"
        ) from exc
    return vllm


class VLLMBackend(LLMBackend):
    """`generate` with `vllm.LLM`; all prompts of a call go to vLLM at once (it schedules the batches)."""

    name = "vllm"
    preferred_batch_size = 256  # vLLM schedules its own batches; this sets the cache commit size

    def __init__(self, config: VLLMConfig) -> None:
        vllm = import_vllm()
        self.config = config
        source = resolve_model_path(config.model)
        self.model_id = model_identity(source)
        if source.suffix == ".gguf":
            source = converted_folder(source, Path(config.convert_cache_dir or default_cache_dir() / "gguf"))
        start = time.perf_counter()
        kwargs = dict(
            model=str(source),
            tensor_parallel_size=config.tensor_parallel_size,
            dtype=config.dtype,
            gpu_memory_utilization=config.gpu_memory_utilization,
            enforce_eager=config.enforce_eager,
            trust_remote_code=False,
        )
        if config.max_model_len is not None:
            kwargs["max_model_len"] = config.max_model_len
        self.llm = vllm.LLM(**kwargs)
        self._sampling_params = vllm.SamplingParams
        self.tokenizer = self.llm.get_tokenizer()
        self.load_seconds = time.perf_counter() - start
        logger.info(
            "vLLM loaded %s (tp=%d) in %.1f s", self.model_id, config.tensor_parallel_size, self.load_seconds
        )
        if config.use_chat_template and not getattr(self.tokenizer, "chat_template", None):
            raise UserInputError(
                f"model {self.model_id} has no chat template; "
                f"set `use_chat_template: false` in the LLM config"
            )

    @property
    def max_context_tokens(self) -> int:
        engine = self.llm.llm_engine
        # vLLM's V0 engine exposes model_config directly; some V1 versions only through vllm_config.
        model_config = getattr(engine, "model_config", None) or engine.vllm_config.model_config
        return int(model_config.max_model_len)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def _render(self, prompt: Prompt) -> str:
        if not self.config.use_chat_template:
            return prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)
        return self.tokenizer.apply_chat_template(
            to_messages(prompt), tokenize=False, add_generation_prompt=True
        )

    def _generate(self, prompts: list[Prompt], sampling: SamplingConfig) -> list[str]:
        params = self._sampling_params(
            temperature=sampling.temperature,
            top_p=1.0 if sampling.greedy else sampling.top_p,
            max_tokens=sampling.max_new_tokens,
            seed=sampling.seed,
            stop=list(sampling.stop) or None,
        )
        texts = [self._render(p) for p in prompts]
        # The rendered chat template holds its own special tokens (BOS etc.).
        inputs = [{"prompt_token_ids": self.tokenizer.encode(t, add_special_tokens=False)} for t in texts]
        results = self.llm.generate(inputs, params, use_tqdm=False)
        return [r.outputs[0].text for r in results]

    def close(self) -> None:
        self.llm = None
