"""SamplingConfig, prompt checks, stop strings, and the YAML backend configs."""

from __future__ import annotations

import pydantic
import pytest

from emerge.llm import (
    OpenAIConfig,
    SamplingConfig,
    TransformersConfig,
    VLLMConfig,
    load_llm_config,
    to_messages,
)
from emerge.llm.base import check_prompts, truncate_at_stop
from foundation.errors import UserInputError
from tests.helpers import paths
from tests.helpers.fakes import FakeBackend

CONFIGS = paths.CONFIGS / "llm"


def test_sampling_config_is_frozen_and_validated():
    s = SamplingConfig()
    assert (s.temperature, s.top_p, s.max_new_tokens, s.seed, s.stop, s.greedy) == (
        0.0,
        1.0,
        256,
        0,
        (),
        True,
    )
    assert not SamplingConfig(temperature=0.5).greedy
    with pytest.raises(pydantic.ValidationError):
        s.temperature = 1.0
    for bad in (
        {"temperature": -0.1},
        {"top_p": 0},
        {"max_new_tokens": 0},
        {"seed": -1},
        {"stop": [""]},
        {"temprature": 1.0},
    ):
        with pytest.raises(pydantic.ValidationError):
            SamplingConfig(**bad)


def test_truncate_at_stop_cuts_at_the_earliest():
    assert truncate_at_stop("abc END def ###", ["###", "END"]) == "abc "
    assert truncate_at_stop("no stop here", ["###"]) == "no stop here"


def test_prompts_checked_with_clear_errors():
    check_prompts(["a", [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]])
    assert to_messages("hi") == [{"role": "user", "content": "hi"}]
    with pytest.raises(UserInputError, match="one string"):
        check_prompts("abc")
    with pytest.raises(UserInputError, match="prompt 1"):
        check_prompts(["ok", []])
    with pytest.raises(UserInputError, match="role 'robot'"):
        check_prompts([[{"role": "robot", "content": "x"}]])
    with pytest.raises(UserInputError, match="exactly the keys"):
        check_prompts([[{"role": "user", "text": "x"}]])


@pytest.mark.parametrize(
    "prompt",
    [
        "",
        "  \n\t",
        [{"role": "user", "content": ""}],
        [{"role": "system", "content": " "}, {"role": "user", "content": "\n"}],
    ],
)
def test_empty_prompts_are_refused_naming_the_prompt(prompt):
    with pytest.raises(UserInputError, match="prompt 2 (is empty|has .* contents are all empty)"):
        check_prompts(["a", [{"role": "user", "content": "b"}], prompt])
    with pytest.raises(UserInputError, match='^p.jsonl:7: prompt of id "x" '):
        check_prompts([prompt], names=['p.jsonl:7: prompt of id "x"'])
    backend = FakeBackend()
    with pytest.raises(UserInputError, match="prompt 0"):
        backend.generate([prompt], SamplingConfig())
    assert backend.calls == []
    check_prompts(
        [[{"role": "system", "content": ""}, {"role": "user", "content": "x"}]]
    )  # one text is enough


def test_generate_applies_stops_and_returns_nothing_for_no_prompts():
    backend = FakeBackend(reply=lambda text, s: f"{text} STOP tail")
    assert backend.generate(["a", "b"], SamplingConfig(stop=("STOP",))) == ["a ", "b "]
    assert backend.generate([], SamplingConfig()) == [] and backend.calls == ["a", "b"]


def test_shipped_configs_load_into_the_right_types():
    assert isinstance(load_llm_config(CONFIGS / "smollm2.yaml"), TransformersConfig)
    vllm = load_llm_config(CONFIGS / "vllm_example.yaml")
    assert isinstance(vllm, VLLMConfig) and vllm.tensor_parallel_size == 1
    local = load_llm_config(CONFIGS / "openai_local.yaml")
    assert isinstance(local, OpenAIConfig) and local.allow_non_loopback is False
    assert load_llm_config(CONFIGS / "smollm2.yaml").sampling == SamplingConfig()


@pytest.mark.parametrize(
    "text, match",
    [
        ("backend: llamafile\n", r"unknown; choose one of \['transformers', 'vllm', 'openai'\]"),
        ("backend: transformers\nbatch_sise: 4\n", "batch_sise"),
        ("backend: vllm\ntensor_parallel_size: 0\n", "tensor_parallel_size"),
        ("backend: openai\n", "model"),
        ("- a list\n", "must hold a mapping of settings"),
        ("backend: [unclosed\n", "line 2, column 1 .*YAML syntax error"),
    ],
)
def test_bad_configs_name_the_problem(tmp_path, text, match):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError, match=match):
        load_llm_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(UserInputError, match="configs/llm/smollm2.yaml"):
        load_llm_config(tmp_path / "nope.yaml")


def test_vllm_missing_names_the_gpu_extra():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        from emerge.llm import build_backend

        with pytest.raises(ImportError, match=r"emerge-drehr\[gpu\]"):
            build_backend(VLLMConfig(model=None))
    else:
        pytest.skip("vllm is installed")
