"""Stage 3 of the demo: RAG summaries with the bundled defaults (starter KG, MiniLM linker, SmolLM2).

The demo extracts note entities with the KG term matcher rather than EMERGE's LLM NER: with the
135M-parameter CPU model, NER on every stay would take most of the demo's time budget and the tiny
model's NER is poor; matcher entities are KG surface forms, so exact linking suffices and the demo
skips embedding the whole KG for dense linking. `emerge rag` runs EMERGE's LLM NER and dense linking.
"""

from __future__ import annotations

from pathlib import Path

from emerge.data.dataset import EHRDataset

__all__ = ["demo_summaries"]

DEMO_LLM = Path(__file__).resolve().parents[2] / "configs" / "llm" / "smollm2.yaml"


def demo_summaries(dataset: EHRDataset, out: Path, seed: int = 0, max_new_tokens: int = 64) -> dict[int, str]:
    """Entities -> links -> knowledge -> summaries for every stay; returns stay_id -> summary text."""
    from emerge.llm.cache import LLMCache
    from emerge.llm.config import load_llm_config
    from emerge.llm.factory import build_backend
    from emerge.pipeline.text_stage import load_default_encoder
    from emerge.rag.stage import RagSettings, run_entities, run_linking, run_summaries
    from kg.starter import load_starter_kg

    settings = RagSettings(entity_mode="matcher", dense_linking=False, task="generic", max_new_tokens=max_new_tokens,
                           seed=seed)
    kg = load_starter_kg()
    run_entities(dataset, out, settings, kg=kg)
    encoder = load_default_encoder()
    run_linking(out, kg, encoder.encode, encoder.fingerprint, settings)
    config = load_llm_config(DEMO_LLM)
    backend = build_backend(config)
    sampling = config.sampling.model_copy(update={"max_new_tokens": max_new_tokens})
    with LLMCache(out / "llm_cache.sqlite") as cache:
        frame = run_summaries(dataset, out, kg, backend, settings, cache=cache, sampling=sampling)
    return dict(zip(frame["stay_id"].to_list(), frame["summary"].to_list(), strict=True))
