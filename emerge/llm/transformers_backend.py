"""Hugging Face transformers backend (CPU or GPU): a HF folder or a GGUF file, batched generation.

Prompts go through the model's chat template (unless `use_chat_template: false`), are sorted by length
and left-padded into batches of `batch_size`, and decoded greedily when temperature == 0, else sampled
with the given seed (the global torch RNG is forked, so the caller's random state is untouched). A
seeded sample is repeatable for the same batch; a different batch composition can change it.

Shared prefix: the prompts of one call usually start alike (the chat template's system turn and a
fixed instruction: ~150 of EMERGE's ~250 summary-prompt tokens). With `prefix_cache: true` the longest
common token prefix of the call is run through the model once and its key/value cache is reused by
every batch, which holds [prefix][padding][rest of prompt] with the padding masked out; positions
come from the attention mask, so each prompt sees exactly the tokens it would see alone. In float32
the greedy outputs equal those without the prefix cache (tested); in bfloat16, as with any change of
batch composition, rounding can change a later token.

Quiet: the key/value cache is passed under the name the installed transformers expects (`cache` since it
deprecated `past_key_values`, so no FutureWarning), and transformers' "Loading weights" progress bar is
switched off while a converted model loads (well under a second; the bar only clutters the log).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emerge.llm.base import LLMBackend, Prompt, SamplingConfig, to_messages
from emerge.llm.config import TransformersConfig, default_cache_dir
from emerge.llm.gguf import converted_folder, load_gguf, model_identity, resolve_model_path, torch_dtype
from foundation.errors import UserInputError

__all__ = ["TransformersBackend", "pick_device", "transformers_model_id"]

logger = logging.getLogger(__name__)


def pick_device(device: str) -> str:
    """ "cuda" or "cpu" for a config's `device`; `cuda` without a visible GPU is a `UserInputError`."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserInputError(
            "LLM config asks for device: cuda but no CUDA GPU is visible; use device: cpu or auto"
        )
    return device


def _model_id(source: Path, dtype) -> str:
    """`<model identity>/<dtype>` (the dtype is part of it: bfloat16 and float32 can answer differently)."""
    return f"{model_identity(source)}/{str(dtype).removeprefix('torch.')}"


def transformers_model_id(config: TransformersConfig) -> str:
    """The cache identity of the backend that `config` builds, without loading it."""
    return _model_id(resolve_model_path(config.model), torch_dtype(config.dtype, pick_device(config.device)))


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Switch transformers' (and huggingface_hub's) progress bars off inside the block, then restore them."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def _cache_kwarg(model) -> str:
    """The keyword under which `model.forward` / `generate` take a key/value cache: `cache` in transformers
    versions that deprecated `past_key_values` (which then warns on every call), else `past_key_values`."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


class TransformersBackend(LLMBackend):
    """`generate` with `AutoModelForCausalLM` (see module docstring). `load_seconds` records the load time."""

    name = "transformers"

    def __init__(self, config: TransformersConfig | None = None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.config = config or TransformersConfig()
        self.device = pick_device(self.config.device)
        dtype = torch_dtype(self.config.dtype, self.device)
        source = resolve_model_path(self.config.model)
        self.model_id = _model_id(source, dtype)
        start = time.perf_counter()
        if source.suffix == ".gguf" and not self.config.cache_converted:
            model, tokenizer = load_gguf(source, dtype)
        else:
            if source.suffix == ".gguf":
                cache_dir = self.config.convert_cache_dir or default_cache_dir() / "gguf"
                source = converted_folder(source, Path(cache_dir))
            with _no_progress_bars():
                local = {"trust_remote_code": False, "local_files_only": True}
                tokenizer = AutoTokenizer.from_pretrained(str(source), **local)
                model = AutoModelForCausalLM.from_pretrained(
                    str(source), dtype=dtype, use_safetensors=True, **local
                )
        self.load_seconds = time.perf_counter() - start
        logger.info("loaded %s on %s in %.1f s", self.model_id, self.device, self.load_seconds)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if self.config.use_chat_template and not tokenizer.chat_template:
            raise UserInputError(
                f"model {self.model_id} has no chat template; "
                f"set `use_chat_template: false` in the LLM config"
            )
        self.tokenizer = tokenizer
        self.model = model.to(self.device).eval()
        self._cache_kwarg = _cache_kwarg(self.model)

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

    def _check_fits(self, prompt_tokens: list[int], max_new_tokens: int) -> None:
        """Raise if a prompt plus its answer would not fit the context window (the model would degrade)."""
        for i, n in enumerate(prompt_tokens):
            if n + max_new_tokens > self.max_context_tokens:
                raise UserInputError(
                    f"prompt {i} has {n} tokens (chat template included) + max_new_tokens "
                    f"{max_new_tokens} > the context window of {self.max_context_tokens} tokens of "
                    f"{self.model_id}; trim the prompt (see LLMBackend.count_tokens / max_context_tokens) "
                    f"or lower max_new_tokens"
                )

    @property
    def preferred_batch_size(self) -> int:
        return self.config.batch_size

    def _prefix(self, ids: list[list[int]]):
        """(length P, key/value cache of the first P tokens) shared by all `ids`, or (0, None) when there
        is no use in it (one prompt, prefix cache off, or fewer than 16 shared tokens)."""
        import torch
        from transformers import DynamicCache

        if not self.config.prefix_cache or len(ids) < 2:
            return 0, None
        first, shortest = ids[0], min(len(x) for x in ids)
        n = 0
        while n < shortest - 1 and all(x[n] == first[n] for x in ids):  # keep >= 1 token per prompt
            n += 1
        if n < 16:
            return 0, None
        cache = DynamicCache(config=self.model.config)
        with torch.inference_mode():
            self.model(
                input_ids=torch.tensor([first[:n]], device=self.device),
                use_cache=True,
                **{self._cache_kwarg: cache},
            )
        return n, cache

    def _batch_inputs(self, ids: list[list[int]], prefix: int, prefix_cache):
        """input_ids / attention_mask [b, P + L] (P prefix tokens, then left-padded rests), and the prefix
        cache copied for the b rows (generate extends it in place)."""
        import copy

        import torch

        pad = self.tokenizer.pad_token_id
        rests = [x[prefix:] for x in ids]
        width = max(len(r) for r in rests)
        head = ids[0][:prefix]
        input_ids = [head + [pad] * (width - len(r)) + r for r in rests]
        mask = [[1] * prefix + [0] * (width - len(r)) + [1] * len(r) for r in rests]
        kwargs = {
            "input_ids": torch.tensor(input_ids, device=self.device),
            "attention_mask": torch.tensor(mask, device=self.device),
        }
        if prefix_cache is not None:
            cache = copy.deepcopy(prefix_cache)
            cache.batch_repeat_interleave(len(ids))
            kwargs[self._cache_kwarg] = cache
        return kwargs

    def _generate_batches(self, texts: list[str], sampling: SamplingConfig) -> list[str]:
        import torch

        # The chat template already holds the special tokens it needs.
        ids = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        self._check_fits([len(x) for x in ids], sampling.max_new_tokens)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths share a batch
        prefix, prefix_cache = self._prefix(ids)
        outputs: list[str] = [""] * len(texts)
        for start in range(0, len(order), self.config.batch_size):
            rows = order[start : start + self.config.batch_size]
            enc = self._batch_inputs([ids[i] for i in rows], prefix, prefix_cache)
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
            ]  # (batch, new_len): padding keeps prompts aligned
            for i, text in zip(
                rows, self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=True
            ):
                outputs[i] = text
        return outputs

    def close(self) -> None:
        import torch

        self.model = None
        if self.device == "cuda":
            torch.cuda.empty_cache()
