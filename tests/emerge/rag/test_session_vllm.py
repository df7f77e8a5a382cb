"""The RAG session releases the vLLM engine when it ends: `run_rag` with a fake `vllm` module (no GPU)."""

from __future__ import annotations

import gc
import sys
import types
import weakref

import numpy as np
import pytest

from emerge.data.build import build_dataset
from emerge.data.config import BuildConfig
from emerge.data.dataset import EHRDataset
from emerge.data.synth import generate
from emerge.llm.base import SamplingConfig
from emerge.llm.config import VLLMConfig
from emerge.llm.vllm_backend import VLLMBackend
from emerge.rag.session import run_rag
from emerge.rag.stage import RagSettings
from tests.helpers.kg import ward_kg


class FakeTokenizer:
    """Characters as token ids, so the fake engine can read the prompt back."""

    chat_template = "{{ messages }}"

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [ord(c) for c in text]

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True) -> str:
        return "\n".join(m["content"] for m in messages)


class FakeLLM:
    """Stands for `vllm.LLM`: records every engine built, answers NER prompts with JSON."""

    built: list[weakref.ref] = []

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs
        model_config = types.SimpleNamespace(max_model_len=4096)
        self.llm_engine = types.SimpleNamespace(model_config=model_config)
        FakeLLM.built.append(weakref.ref(self))

    def get_tokenizer(self) -> FakeTokenizer:
        return FakeTokenizer()

    def generate(self, inputs, params, use_tqdm=False):
        texts = ["".join(map(chr, item["prompt_token_ids"])) for item in inputs]
        answers = [
            '```json\n{"entities": ["sepsis"]}\n```'
            if "Named Entity Recognition" in t
            else "A short summary."
            for t in texts
        ]
        return [types.SimpleNamespace(outputs=[types.SimpleNamespace(text=a)]) for a in answers]


@pytest.fixture
def fake_vllm(monkeypatch):
    """`import vllm` gives the fake; its `cleanup_dist_env_and_memory` counts calls."""
    cleanups: list[int] = []
    vllm = types.ModuleType("vllm")
    vllm.LLM = FakeLLM
    vllm.SamplingParams = lambda **kw: kw
    distributed = types.ModuleType("vllm.distributed")
    parallel_state = types.ModuleType("vllm.distributed.parallel_state")
    parallel_state.cleanup_dist_env_and_memory = lambda: cleanups.append(1)
    vllm.distributed = distributed
    distributed.parallel_state = parallel_state
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.distributed", distributed)
    monkeypatch.setitem(sys.modules, "vllm.distributed.parallel_state", parallel_state)
    FakeLLM.built = []
    return cleanups


@pytest.fixture
def model_folder(tmp_path):
    """A folder that passes the model-path checks (nothing is loaded from it)."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    return folder


class ZeroEncoder:
    fingerprint = "zeros"

    def encode(self, texts):
        return np.zeros((len(texts), 4), np.float32)


def test_close_drops_the_engine_and_cleans_up_once(fake_vllm, model_folder):
    backend = VLLMBackend(VLLMConfig(model=model_folder))
    engine = FakeLLM.built[-1]
    assert engine() is not None and not backend.closed
    backend.close()
    backend.close()  # idempotent: nothing more to free
    gc.collect()
    assert engine() is None and backend.closed and fake_vllm == [1]
    with pytest.raises(RuntimeError, match="was closed"):
        backend.generate(["a question"], SamplingConfig())


def test_close_calls_shutdown_where_vllm_has_it(fake_vllm, model_folder, monkeypatch):
    calls = []
    monkeypatch.setattr(FakeLLM, "shutdown", lambda self: calls.append("shutdown"), raising=False)
    VLLMBackend(VLLMConfig(model=model_folder)).close()
    assert calls == ["shutdown"] and fake_vllm == [1]


def test_run_rag_releases_the_engine_before_returning(fake_vllm, model_folder, tmp_path, monkeypatch):
    closes = []
    real_close = VLLMBackend.close

    def counted_close(self):
        closes.append(self)
        real_close(self)

    monkeypatch.setattr(VLLMBackend, "close", counted_close)
    generate(tmp_path / "synth", stays=50, seed=3)
    dataset = EHRDataset(build_dataset(tmp_path / "synth", tmp_path / "data", BuildConfig(version="iv")))
    settings = RagSettings(entity_mode="llm", dense_linking=False, max_new_tokens=16)
    summaries = run_rag(
        dataset, tmp_path / "rag", ward_kg(), VLLMConfig(model=model_folder), settings, ZeroEncoder()
    )
    assert len(summaries) == len(dataset) and set(summaries.values()) <= {"A short summary.", ""}
    gc.collect()
    assert len(FakeLLM.built) == 1 and FakeLLM.built[0]() is None  # one engine, and it is gone
    assert len(closes) == 1 and closes[0].closed and fake_vllm == [1]
