"""vLLM backend for GPUs: continuous batching, tensor parallelism across `tensor_parallel_size` GPUs.

vLLM is an optional dependency (the `gpu` extra) and is imported only when this backend is built.
`model` is a HF folder; a `.gguf` file (or None, the bundled SmolLM2) is first converted to a HF folder
by the same converter as the transformers backend, so vLLM never parses GGUF itself.

`close()` gives the GPU back (the RAG session calls it before training starts): it drops the engine and
runs vLLM's own clean-up, `vllm.distributed.parallel_state.cleanup_dist_env_and_memory`, which destroys
the model-parallel groups and the torch.distributed process group vLLM created, collects garbage and
empties the CUDA cache (the way vLLM's maintainers give for freeing an `LLM` in one process:
vllm-project/vllm issues #23793 and #18806).
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from pathlib import Path

from emerge.llm.base import LLMBackend, Prompt, SamplingConfig, to_messages
from emerge.llm.config import VLLMConfig, default_cache_dir
from emerge.llm.gguf import converted_folder, model_identity, resolve_model_path
from foundation.errors import UserInputError

__all__ = ["VLLMBackend", "import_vllm", "release_gpu_memory"]

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
    def closed(self) -> bool:
        return self.llm is None

    def _engine(self):
        if self.llm is None:
            raise RuntimeError(f"the vLLM backend of {self.model_id} was closed; build a new one")
        return self.llm

    @property
    def max_context_tokens(self) -> int:
        engine = self._engine().llm_engine
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
        results = self._engine().generate(inputs, params, use_tqdm=False)
        return [r.outputs[0].text for r in results]

    def close(self) -> None:
        """Shut the engine down and free its GPU memory; a second call does nothing.

        Every reference this backend holds to the engine is dropped (an `LLM.shutdown()`, in vLLM versions
        that have one, is called first), then vLLM's `cleanup_dist_env_and_memory()` runs.
        """
        llm, self.llm = self.llm, None
        if llm is None:
            return
        shutdown = getattr(llm, "shutdown", None)
        if callable(shutdown):
            try:
                shutdown()
            except Exception as exc:  # the engine is dropped below in any case
                logger.warning("vLLM's LLM.shutdown() failed (%s); dropping the engine anyway", exc)
        del llm
        release_gpu_memory()
        logger.info("vLLM engine of %s closed and its GPU memory released", self.model_id)


def release_gpu_memory() -> None:
    """vLLM's `cleanup_dist_env_and_memory()` (process groups, garbage, CUDA cache); where the installed
    vLLM lacks it, `gc.collect()` and `torch.cuda.empty_cache()`."""
    try:
        from vllm.distributed.parallel_state import cleanup_dist_env_and_memory
    except ImportError:
        cleanup_dist_env_and_memory = None
    if cleanup_dist_env_and_memory is not None:
        try:
            cleanup_dist_env_and_memory()
            return
        except Exception as exc:  # fall back to the plain clean-up, and say so
            logger.warning(
                "vLLM's cleanup_dist_env_and_memory() failed (%s); collecting garbage instead", exc
            )
    gc.collect()
    torch = sys.modules.get("torch")  # vLLM imported it; never import torch just to clean up
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
