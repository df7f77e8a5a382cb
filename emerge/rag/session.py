"""The RAG stage as one call, and the LLM session its steps share.

`llm_session` is the one place a RAG run gets its LLM: a lazily built backend (a finished step never
loads the model), the run's SQLite answer cache `OUT/llm_cache.sqlite`, and the sampling settings
with the RAG stage's `max_new_tokens`; the backend is closed when the session ends, so a vLLM engine
gives its GPU memory back before training starts. `emerge rag entities|link|summarize` and the
experiment runner both use it, and `run_rag` runs the three steps in order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emerge.data.dataset import EHRDataset
from emerge.rag.stage import RagSettings, rag_folder, run_entities, run_linking, run_summaries

__all__ = ["llm_session", "run_rag", "default_llm_config"]

logger = logging.getLogger(__name__)


def default_llm_config():
    """The bundled CPU model's config (`llm/smollm2.yaml` of the shipped configs)."""
    from emerge.experiment.config import config_path
    from emerge.llm.config import load_llm_config

    return load_llm_config(config_path("llm/smollm2.yaml", "LLM config"))


@contextmanager
def llm_session(
    out: str | Path, llm_config: Any, max_new_tokens: int, backend: Any = None
) -> Iterator[tuple]:
    """(backend, cache, sampling) for the RAG output folder `out`.

    `llm_config` is a loaded LLM config (None: the bundled SmolLM2); `backend` (optional) an already built
    backend, e.g. a fake one in tests, which is then not closed here. The backend built here is closed
    exactly once when the session ends, also after an error or Ctrl-C: for vLLM that shuts the engine
    down and returns its GPU memory (`VLLMBackend.close`), so the training that follows can use it.
    """
    from emerge.llm.cache import LLMCache
    from emerge.llm.factory import build_backend

    llm_config = llm_config if llm_config is not None else default_llm_config()
    sampling = llm_config.sampling.model_copy(update={"max_new_tokens": max_new_tokens})
    out = rag_folder(out)
    own = backend is None
    if own:
        backend = build_backend(llm_config, lazy=True)  # loaded on first use: finished steps never load it
    try:
        with LLMCache(out / "llm_cache.sqlite") as cache:
            yield backend, cache, sampling
    finally:
        if own:
            backend.close()
            logger.debug("LLM backend %s closed", backend.name)


def run_rag(
    dataset: EHRDataset,
    out: str | Path,
    kg,
    llm_config: Any,
    settings: RagSettings,
    encoder,
    backend: Any = None,
) -> dict[int, str]:
    """Entities -> links -> knowledge -> summaries for every stay; returns stay_id -> summary text.

    `encoder` is the sentence encoder used for dense linking and, with `entity_mode: retriever`, for
    retrieving the KG concepts of the notes (a `drehr.model.BiEncoder`).
    """
    with llm_session(out, llm_config, settings.max_new_tokens, backend) as (llm, cache, sampling):
        run_entities(
            dataset, out, settings, kg=kg, backend=llm, cache=cache, sampling=sampling, encoder=encoder
        )
        run_linking(out, kg, encoder.encode, encoder.fingerprint, settings)
        frame = run_summaries(dataset, out, kg, llm, settings, cache=cache, sampling=sampling)
    return dict(zip(frame["stay_id"].to_list(), frame["summary"].to_list(), strict=True))
