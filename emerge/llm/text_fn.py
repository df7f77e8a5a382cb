"""`llm_text_fn`: an LLM config wired, through a persistent SQLite cache, into the plain
`list[str] -> list[str]` callable (`drehr.data.TextFn`) that drehr's data builders take.

drehr never imports emerge; this is the one place where an emerge backend becomes a drehr text
generator for `emerge retriever build-stage1 --llm | build-stage2 | build-qa`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from emerge.llm import factory
from emerge.llm.base import LLMBackend
from emerge.llm.batch import as_text_fn
from emerge.llm.cache import LLMCache
from emerge.llm.config import LLMConfig, load_llm_config

if TYPE_CHECKING:
    from drehr.data import TextFn

__all__ = ["llm_text_fn"]


def llm_text_fn(
    config: str | os.PathLike | LLMConfig, out_path: str | os.PathLike, backend: LLMBackend | None = None
) -> tuple[TextFn, LLMCache]:
    """A cached `list[str] -> list[str]` over the LLM of `config` (a YAML path or an LLMConfig).

    The cache is a SQLite file next to the output (`<out>.llm_cache.sqlite`), so a rerun never asks
    the model again for a prompt it answered. `backend` overrides the one the config builds (tests
    pass a fake). Returns (text function, cache); close the cache when done.
    """
    cfg = load_llm_config(config) if isinstance(config, (str, os.PathLike)) else config
    if backend is None:
        backend = factory.build_backend(cfg, lazy=True)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    cache = LLMCache(out_path.with_name(out_path.name + ".llm_cache.sqlite"))
    return as_text_fn(backend, cfg.sampling, cache, batch_size=getattr(cfg, "batch_size", 16)), cache
