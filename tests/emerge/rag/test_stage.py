"""The RAG stage end to end on a small synthetic dataset, a hand-made KG (`ward_kg`) and a fake LLM."""

import numpy as np
import polars as pl
import pytest

from emerge.data.build import build_dataset
from emerge.data.config import BuildConfig
from emerge.data.dataset import EHRDataset
from emerge.data.synth import generate
from emerge.llm.base import SamplingConfig
from emerge.llm.cache import LLMCache
from emerge.rag.stage import RagSettings, run_entities, run_linking, run_summaries
from foundation.outputs import read_manifest
from tests.helpers.fakes import FakeBackend
from tests.helpers.kg import ward_kg


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("rag")
    generate(root / "synth", stays=60, seed=3)
    return EHRDataset(build_dataset(root / "synth", root / "data", BuildConfig(version="iv")))


@pytest.fixture(scope="module")
def graph():
    return ward_kg()


def _reply(text, sampling):
    if "Named Entity Recognition" in text:
        return '```json\n{"entities": ["sepsis", "an invented disease"]}\n```'
    return "Septic patient with tachycardia; high risk." if "Sepsis" in text else ""


def test_entities_links_summaries_with_provenance_and_resume(dataset, graph, tmp_path):
    out = tmp_path / "rag"
    settings = RagSettings(entity_mode="union", dense_linking=False, max_new_tokens=32)
    backend = FakeBackend(reply=_reply)
    sampling = SamplingConfig(max_new_tokens=32)
    with LLMCache(tmp_path / "cache.sqlite") as cache:
        ent = run_entities(dataset, out, settings, kg=graph, backend=backend, cache=cache, sampling=sampling)
        assert set(ent["source"].unique()) == {"timeseries", "notes"}
        # The NER prompts of all stays go out together, a full backend batch at a time (not one call
        # per stay).
        ner = [c for c in backend.calls if "Named Entity Recognition" in c]
        assert len(ner) > backend.preferred_batch_size
        assert backend.batches[0] == backend.preferred_batch_size and len(backend.batches) == -(
            -len(ner) // 16
        )
        assert "an invented disease" not in ent["entity"].to_list()  # not literally in any note
        ts = ent.filter(pl.col("source") == "timeseries")
        assert ts["phrase"].str.ends_with("too high").any() or ts["phrase"].str.ends_with("too low").any()

        linked = run_linking(out, graph, lambda t: np.zeros((len(t), 4), np.float32), "none", settings)
        hits = linked.filter(pl.col("node_id").is_not_null())
        assert hits.height > 0 and set(hits["score"].unique()) == {1.0}  # exact links only
        assert set(hits["node_id"].unique()) <= set(graph.node_ids())

        summ = run_summaries(dataset, out, graph, backend, settings, cache=cache, sampling=sampling)
        assert summ.height == len(dataset)
        assert all("Potential abnormal features" in p for p in summ["prompt"].to_list())
        with_sepsis = summ.filter(pl.col("nodes").list.contains("A41.9"))
        assert (
            with_sepsis.height > 0
            and (with_sepsis["summary"] == "Septic patient with tachycardia; high risk.").all()
        )
        empty = summ.filter(pl.col("summary") == "")
        assert all("empty LLM output" in g for g in empty["gaps"].to_list())
        no_notes = set(dataset.stay_id.tolist()) - set(dataset.notes["stay_id"].to_list())
        for row in summ.filter(pl.col("stay_id").is_in(list(no_notes))).iter_rows(named=True):
            assert "no note entities" in row["gaps"]

        calls = len(backend.calls)
        again = run_summaries(dataset, out, graph, backend, settings, cache=cache, sampling=sampling)
        assert len(backend.calls) == calls and again.equals(summ)  # step skipped on rerun
        (
            out / "summaries-generic" / "summaries.parquet"
        ).unlink()  # lost: rebuilt from the LLM cache, no new calls
        redo = run_summaries(dataset, out, graph, backend, settings, cache=cache, sampling=sampling)
        assert len(backend.calls) == calls and redo["summary"].to_list() == summ["summary"].to_list()

        mortality = settings.model_copy(update={"task": "mortality"})
        run_summaries(dataset, out, graph, backend, mortality, cache=cache, sampling=sampling)
        assert len(backend.calls) > calls  # another task: new prompts
    assert read_manifest(out / "summaries-mortality").info["task"] == "mortality"
    assert (out / "summaries-generic" / "summaries.parquet").is_file()  # each task keeps its own summaries
