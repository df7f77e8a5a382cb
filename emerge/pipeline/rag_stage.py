"""The RAG stage of an experiment: entities -> KG links -> knowledge -> LLM summary for every stay.

Each step is cached under OUT (emerge.rag.stage) and LLM calls go through a persistent SQLite cache,
so a rerun or a resumed run repeats nothing. The demo extracts note entities with the KG term
matcher (`entity_mode: matcher`) rather than EMERGE's LLM NER: with the 135M-parameter CPU model, NER
on every stay would take most of the demo's time budget and the tiny model's NER is poor; matcher
entities are KG surface forms, so exact linking suffices and the demo skips embedding the whole KG
for dense linking. The MIMIC experiments use EMERGE's LLM NER and dense linking.
"""

from __future__ import annotations

import logging
from pathlib import Path

from emerge.data.dataset import EHRDataset

__all__ = ["run_rag_stage", "DEMO_LLM"]

logger = logging.getLogger(__name__)

DEMO_LLM = Path(__file__).resolve().parents[2] / "configs" / "llm" / "smollm2.yaml"


def run_rag_stage(dataset: EHRDataset, out: Path, kg, llm_config, settings, linker_encoder: str = "default",
                  backend=None) -> dict[int, str]:
    """Entities -> links -> knowledge -> summaries for every stay; returns stay_id -> summary text.

    `llm_config` is a loaded LLM config (emerge.llm.config); its `max_new_tokens` is replaced by the
    RAG settings' own. `backend` (optional) is an already built backend, e.g. a fake one in tests.
    """
    from emerge.llm.cache import LLMCache
    from emerge.llm.factory import build_backend
    from emerge.pipeline.text_stage import load_default_encoder
    from emerge.rag.stage import rag_folder, run_entities, run_linking, run_summaries

    sampling = llm_config.sampling.model_copy(update={"max_new_tokens": settings.max_new_tokens})
    out = rag_folder(out)
    if backend is None:
        backend = build_backend(llm_config, lazy=True)  # loaded on first use: finished steps never load it
    with LLMCache(out / "llm_cache.sqlite") as cache:
        run_entities(dataset, out, settings, kg=kg, backend=backend, cache=cache, sampling=sampling)
        encoder = load_default_encoder(linker_encoder)
        run_linking(out, kg, encoder.encode, encoder.fingerprint, settings)
        frame = run_summaries(dataset, out, kg, backend, settings, cache=cache, sampling=sampling)
    return dict(zip(frame["stay_id"].to_list(), frame["summary"].to_list(), strict=True))
