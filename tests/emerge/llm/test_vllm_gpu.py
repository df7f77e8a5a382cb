"""vLLM backend on a GPU, serving SmolLM2-135M converted from the bundled GGUF to a HF folder."""

from __future__ import annotations

import time

import pytest

from emerge.llm import SamplingConfig, VLLMConfig, build_backend


@pytest.mark.gpu
def test_vllm_generates_batched_greedy_and_reports_throughput(tmp_path):
    pytest.importorskip("vllm")
    backend = build_backend(
        VLLMConfig(
            model=None,
            gpu_memory_utilization=0.3,
            max_model_len=2048,
            convert_cache_dir=tmp_path,
            enforce_eager=True,
        )
    )
    assert backend.max_context_tokens == 2048 and backend.count_tokens("sepsis") >= 1
    prompts = [f"Name disease number {i} that affects the kidneys." for i in range(64)]
    greedy = SamplingConfig(max_new_tokens=32)
    start = time.perf_counter()
    out = backend.generate(prompts, greedy)
    seconds = time.perf_counter() - start
    assert len(out) == 64 and all(o.strip() for o in out)
    assert backend.generate(prompts[:2], greedy) == out[:2]  # greedy is batch-independent here
    tokens = sum(backend.count_tokens(o) for o in out)
    print(f"vLLM SmolLM2-135M: {len(prompts) / seconds:.1f} prompts/s, {tokens / seconds:.0f} new tokens/s")
    backend.close()
