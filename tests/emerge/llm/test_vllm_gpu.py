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


@pytest.mark.gpu
def test_vllm_close_gives_the_gpu_memory_back(tmp_path):
    """What the RAG session relies on before training: after `close()`, the device's free memory is back
    to what it was before the engine was built (vLLM reserves gpu_memory_utilization of it)."""
    pytest.importorskip("vllm")
    import gc

    import torch

    free_before, total = torch.cuda.mem_get_info()
    backend = build_backend(
        VLLMConfig(
            model=None,
            gpu_memory_utilization=0.3,
            max_model_len=2048,
            convert_cache_dir=tmp_path,
            enforce_eager=True,
        )
    )
    backend.generate(["Name one kidney disease."], SamplingConfig(max_new_tokens=8))
    free_loaded, _ = torch.cuda.mem_get_info()
    assert free_before - free_loaded > 0.2 * total  # the engine really holds its share
    backend.close()
    backend.close()  # idempotent
    gc.collect()
    deadline = time.monotonic() + 60  # the engine-core process may take a moment to exit
    while time.monotonic() < deadline and torch.cuda.mem_get_info()[0] < free_before - 2 * 2**30:
        time.sleep(1)
    free_after = torch.cuda.mem_get_info()[0]
    gib = [f"{b / 2**30:.1f}" for b in (free_before, free_loaded, free_after)]
    print(f"GPU free (GiB): {gib[0]} before, {gib[1]} with the engine, {gib[2]} after close")
    assert free_after >= free_before - 2 * 2**30  # within 2 GiB (CUDA context, allocator caches)
