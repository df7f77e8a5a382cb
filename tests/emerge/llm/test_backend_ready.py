"""`check_backend_ready` (behind `emerge run --check`): every reason a backend could not start, found
without loading a model or importing torch."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emerge.llm import OpenAIConfig, TransformersConfig, VLLMConfig, check_backend_ready
from emerge.llm.config import load_llm_config
from foundation.errors import UserInputError
from tests.helpers import paths
from tests.helpers.paths import REPO

CONFIGS = paths.CONFIGS / "llm"


def hf_folder(root: Path, *files: str) -> Path:
    """A folder with the named (empty) files; nothing is loaded from it."""
    root.mkdir(parents=True, exist_ok=True)
    for name in files:
        (root / name).write_bytes(b"{}" if name.endswith(".json") else b"")
    return root


def test_default_and_shipped_transformers_config_are_ready():
    check_backend_ready(None)  # the bundled SmolLM2
    check_backend_ready(CONFIGS / "smollm2.yaml")
    check_backend_ready(TransformersConfig(model=None, device="cpu"))


def test_ready_model_folder_and_gguf_file(tmp_path):
    check_backend_ready(
        TransformersConfig(model=hf_folder(tmp_path / "m", "config.json", "model.safetensors"))
    )
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(60))
    check_backend_ready(TransformersConfig(model=gguf))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("/path/to/your/model", "is a placeholder from an example config"),
        ("<your model folder>", "is a placeholder"),
        ("~/models/CHANGE_ME", "is a placeholder"),
        ("{tmp}/missing", "not found"),
        ("{tmp}/missing.gguf", "not found"),
        ("{tmp}/empty", "neither a .gguf file nor a Hugging Face folder with config.json"),
        ("{tmp}/pickle", "holds no \\*.safetensors weights \\(found: config.json, pytorch_model.bin\\)"),
        ("{tmp}/pickle/pytorch_model.bin", "is a file but not a .gguf"),
        ("{tmp}/fake.gguf", "does not start with the GGUF signature"),
    ],
)
@pytest.mark.parametrize("kind", [TransformersConfig, VLLMConfig])
def test_bad_model_paths_are_refused(tmp_path, monkeypatch, kind, model, message):
    (tmp_path / "empty").mkdir()
    hf_folder(tmp_path / "pickle", "config.json", "pytorch_model.bin")
    (tmp_path / "fake.gguf").write_text("<html>a login page saved as .gguf</html>")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else real_find_spec(name, *a)
    )
    with pytest.raises(UserInputError, match=message):
        check_backend_ready(kind(model=model.format(tmp=tmp_path)))


def test_vllm_missing_names_the_gpu_extra(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real_find_spec(name, *a)
    )
    with pytest.raises(
        UserInputError, match=r"package vllm, which is not installed.*pip install 'emerge-drehr\[gpu\]'"
    ):
        check_backend_ready(VLLMConfig(model=None))


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_cuda_device_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible")
    with pytest.raises(UserInputError, match="no CUDA GPU is visible"):
        check_backend_ready(TransformersConfig(device="cuda"))


def test_openai_backend_checks(tmp_path, monkeypatch):
    with pytest.raises(UserInputError, match="allow_remote_patient_text"):
        check_backend_ready(OpenAIConfig(model="m"))
    with pytest.raises(UserInputError, match="not a loopback address"):
        check_backend_ready(
            OpenAIConfig(model="m", base_url="http://10.1.2.3/v1", allow_remote_patient_text=True)
        )
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(UserInputError, match="NO_SUCH_KEY_VAR"):
        check_backend_ready(
            OpenAIConfig(model="m", allow_remote_patient_text=True, api_key_env="NO_SUCH_KEY_VAR")
        )
    with pytest.raises(UserInputError, match="tokenizer .* is not a folder with tokenizer.json"):
        check_backend_ready(
            OpenAIConfig(model="m", allow_remote_patient_text=True, tokenizer=tmp_path / "nope")
        )
    check_backend_ready(CONFIGS / "openai_local.yaml")  # no server needed: nothing is sent
    check_backend_ready(
        OpenAIConfig(
            model="m", allow_remote_patient_text=True, tokenizer=hf_folder(tmp_path / "tok", "tokenizer.json")
        )
    )


def test_loads_no_model_and_imports_no_torch():
    code = (
        "import sys; from emerge.llm import check_backend_ready; check_backend_ready(None); "
        "print(sorted({'torch', 'transformers', 'vllm'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_shipped_vllm_example_is_refused_until_its_model_is_set(monkeypatch):
    """configs/llm/vllm_example.yaml names an example folder; `emerge run --check` must say so, with vllm
    installed or not, before any GPU is touched."""
    example = CONFIGS / "vllm_example.yaml"
    config = load_llm_config(example)
    assert isinstance(config, VLLMConfig)
    model = config.model
    if Path(model).exists():
        pytest.skip(f"{model} exists on this machine")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else real_find_spec(name, *a)
    )
    with pytest.raises(UserInputError, match=rf"model {model} not found; check `model:` in the LLM config"):
        check_backend_ready(example)
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real_find_spec(name, *a)
    )
    with pytest.raises(UserInputError, match=r"pip install 'emerge-drehr\[gpu\]'"):
        check_backend_ready(example)
