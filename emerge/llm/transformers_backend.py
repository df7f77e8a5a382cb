"""Hugging Face transformers backend (CPU or GPU): a HF folder or a GGUF file, batched generation.

Prompts go through the model's chat template (unless `use_chat_template: false`), are left-padded into
batches of `batch_size`, and decoded greedily when temperature == 0, else sampled with the given seed
(the global torch RNG is forked, so the caller's random state is untouched). A seeded sample is
repeatable for the same batch; a different batch composition can change it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from emerge.llm.base import LLMBackend, Prompt, SamplingConfig, to_messages
from emerge.llm.config import TransformersConfig, default_cache_dir
from emerge.llm.gguf import converted_folder, load_gguf, model_identity, resolve_model_path, torch_dtype
from kg.errors import UserInputError

__all__ = ["TransformersBackend"]

logger = logging.getLogger(__name__)


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserInputError(
            "LLM config asks for device: cuda but no CUDA GPU is visible; use device: cpu or auto"
        )
    return device


class TransformersBackend(LLMBackend):
    """`generate` with `AutoModelForCausalLM` (see module docstring). `load_seconds` records the load time."""

    name = "transformers"

    def __init__(self, config: TransformersConfig | None = None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.config = config or TransformersConfig()
        self.device = _pick_device(self.config.device)
        dtype = torch_dtype(self.config.dtype, self.device)
        source = resolve_model_path(self.config.model)
        self.model_id = model_identity(source)
        start = time.perf_counter()
        if source.suffix == ".gguf" and not self.config.cache_converted:
            model, tokenizer = load_gguf(source, dtype)
        else:
            if source.suffix == ".gguf":
                cache_dir = self.config.convert_cache_dir or default_cache_dir() / "gguf"
                source = converted_folder(source, Path(cache_dir))
            tokenizer = AutoTokenizer.from_pretrained(str(source), trust_remote_code=False)
            model = AutoModelForCausalLM.from_pretrained(
                str(source), dtype=dtype, use_safetensors=True, trust_remote_code=False
            )
        self.load_seconds = time.perf_counter() - start
        logger.info("loaded %s on %s in %.1f s", self.model_id, self.device, self.load_seconds)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if self.config.use_chat_template and not tokenizer.chat_template:
            raise UserInputError(
                f"model {self.model_id} has no chat template; set `use_chat_template: false` in the LLM config"
            )
        self.tokenizer = tokenizer
        self.model = model.to(self.device).eval()

    @property
    def max_context_tokens(self) -> int:
        if self.config.max_context_tokens is not None:
            return self.config.max_context_tokens
        window = getattr(self.model.config, "max_position_embeddings", None)
        return int(window) if window else int(self.tokenizer.model_max_length)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def _render(self, prompt: Prompt) -> str:
        if not self.config.use_chat_template:
            if not isinstance(prompt, str):
                return "\n".join(m["content"] for m in prompt)
            return prompt
        return self.tokenizer.apply_chat_template(
            to_messages(prompt), tokenize=False, add_generation_prompt=True
        )

    def _generate(self, prompts: list[Prompt], sampling: SamplingConfig) -> list[str]:
        import torch

        threads = torch.get_num_threads()
        if self.config.cpu_threads is not None:
            torch.set_num_threads(self.config.cpu_threads)  # restored below: no global state leaks
        try:
            return self._generate_batches([self._render(p) for p in prompts], sampling)
        finally:
            torch.set_num_threads(threads)

    def _check_fits(self, prompt_tokens: list[int], offset: int, max_new_tokens: int) -> None:
        """Raise if a prompt plus its answer would not fit the context window (the model would degrade)."""
        for i, n in enumerate(prompt_tokens):
            if n + max_new_tokens > self.max_context_tokens:
                raise UserInputError(
                    f"prompt {offset + i} has {n} tokens (chat template included) + max_new_tokens "
                    f"{max_new_tokens} > the context window of {self.max_context_tokens} tokens of {self.model_id}; "
                    f"trim the prompt (see LLMBackend.count_tokens / max_context_tokens) or lower max_new_tokens"
                )

    def _generate_batches(self, texts: list[str], sampling: SamplingConfig) -> list[str]:
        import torch

        outputs: list[str] = []
        for start in range(0, len(texts), self.config.batch_size):
            batch = texts[start : start + self.config.batch_size]
            # The chat template already holds the special tokens it needs.
            enc = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(
                self.device
            )
            self._check_fits(enc["attention_mask"].sum(dim=1).tolist(), start, sampling.max_new_tokens)
            kwargs = dict(max_new_tokens=sampling.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id)
            if sampling.greedy:
                kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            else:
                kwargs.update(
                    do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=None
                )
            if sampling.stop:
                kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
            devices = [torch.cuda.current_device()] if self.device == "cuda" else []
            with torch.random.fork_rng(devices=devices), torch.inference_mode():
                torch.manual_seed(sampling.seed)
                out = self.model.generate(**enc, **kwargs)  # (batch, prompt_len + new_len)
            new_tokens = out[
                :, enc["input_ids"].shape[1] :
            ]  # (batch, new_len), left padding keeps prompts aligned
            outputs.extend(self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        return outputs

    def close(self) -> None:
        import torch

        self.model = None
        if self.device == "cuda":
            torch.cuda.empty_cache()
