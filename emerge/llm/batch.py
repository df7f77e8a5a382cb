"""Resumable batch generation: nothing computed twice, nothing lost.

`run_batch` takes (key, prompt) items, looks every prompt up in the `LLMCache`, sends only the missing
ones to the backend in batches, and commits each batch to the cache before asking for the next. After a
kill, a rerun finds the committed batches and only asks for the rest (the batch in flight at the kill is
the only work redone). Identical prompts within a run are generated once. `as_text_fn` wraps a backend
as the plain `list[str] -> list[str]` callable that drehr (stage II, abbreviation expansion) takes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Hashable, Sequence

from tqdm.auto import tqdm

from emerge.llm.base import LLMBackend, Prompt, SamplingConfig, check_prompts
from emerge.llm.cache import LLMCache, cache_key
from foundation.errors import UserInputError

__all__ = ["run_batch", "as_text_fn"]

logger = logging.getLogger(__name__)


def run_batch(
    items: Sequence[tuple[Hashable, Prompt]],
    backend: LLMBackend,
    sampling: SamplingConfig,
    cache: LLMCache | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    desc: str = "LLM",
) -> dict[Hashable, str]:
    """Outputs for every item, keyed by the item's key; cached prompts are not sent to the backend.

    items: (key, prompt) pairs; keys must be unique (they name the results, e.g. a stay id).
    batch_size: prompts per backend call and per cache commit (the most work a kill can lose);
        None = the backend's `preferred_batch_size`.
    Without a cache nothing persists, but identical prompts are still generated once.
    """
    if batch_size is None:
        batch_size = backend.preferred_batch_size
    if batch_size < 1:
        raise UserInputError(f"batch_size must be >= 1, got {batch_size}")
    keys = [key for key, _ in items]
    if len(set(keys)) != len(keys):
        dupes = sorted(str(k) for k, n in Counter(keys).items() if n > 1)[:5]
        raise UserInputError(f"item keys must be unique; repeated: {dupes}")
    prompts = [prompt for _, prompt in items]
    check_prompts(prompts)
    hashes = [cache_key(backend.name, backend.model_id, sampling, p) for p in prompts]
    done: dict[str, str] = cache.get_many(hashes) if cache is not None else {}
    todo: dict[str, Prompt] = {}  # hash -> prompt, each distinct missing prompt once, in item order
    for h, prompt in zip(hashes, prompts, strict=True):
        if h not in done:
            todo.setdefault(h, prompt)
    n_items_per_hash = Counter(hashes)
    n_cached = sum(n for h, n in n_items_per_hash.items() if h in done)
    logger.info(
        "%s: %d items, %d cached, %d distinct prompts to generate", desc, len(items), n_cached, len(todo)
    )
    pending = list(todo.items())
    with tqdm(total=len(items), initial=n_cached, desc=desc, unit="prompt", disable=not progress) as bar:
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            outputs = backend.generate([p for _, p in batch], sampling)
            if cache is not None:
                rows = zip(batch, outputs, strict=True)
                cache.put_many((h, backend.name, backend.model_id, sampling, p, out) for (h, p), out in rows)
            fresh = {h: out for (h, _), out in zip(batch, outputs, strict=True)}
            done.update(fresh)
            bar.update(sum(n_items_per_hash[h] for h in fresh))
    return {key: done[h] for key, h in zip(keys, hashes, strict=True)}


def as_text_fn(
    backend: LLMBackend,
    sampling: SamplingConfig,
    cache: LLMCache | None = None,
    batch_size: int | None = None,
    progress: bool = False,
) -> Callable[[list[str]], list[str]]:
    """A plain `prompts -> texts` callable over `backend` (cached and batched), for drehr's stage II and
    abbreviation expansion, which must not import emerge."""

    def generate(prompts: list[str]) -> list[str]:
        results = run_batch(
            list(enumerate(prompts)), backend, sampling, cache=cache, batch_size=batch_size, progress=progress
        )
        return [results[i] for i in range(len(prompts))]

    generate.__name__ = f"{backend.name}_text_fn"
    return generate
