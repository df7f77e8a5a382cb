"""Where a model runs: the one meaning of every `device` option (experiments, linking, retriever commands).

    "auto"     a CUDA GPU when one is visible, else the CPU
    "cpu"      the CPU
    "cuda"     the current CUDA GPU; an error when none is visible
    "cuda:N"   CUDA GPU number N; an error when it does not exist

`check_device` validates and normalizes the text without importing torch, so a config can refuse a bad
value when it is read; `resolve_device` turns it into a `torch.device` when a model is placed.

Encoders stay in float32 on every device: their embeddings are cached and indexed under the encoder's
fingerprint (config and weights, not the compute dtype), so float16 / bfloat16 vectors, which differ
from float32 ones in the third decimal, would silently mix with float32 ones made on another machine.
`BiEncoder.from_pretrained(torch_dtype=...)` remains for a caller who wants half precision knowingly.
"""

from __future__ import annotations

import re

from foundation.errors import UserInputError

__all__ = ["DEVICE_CHOICES", "check_device", "resolve_device"]

DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda", "cuda:N")
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device(value) -> str:
    """The normalized device text ("auto", "cpu", "cuda", "cuda:1"); None means "auto".

    Raises `UserInputError` (a ValueError, so pydantic reports it as a field error) listing the valid values.
    """
    if value is None:
        return "auto"
    text = str(value).strip().lower()
    if not _DEVICE.match(text):
        raise UserInputError(
            f"device {value!r} is not one of {', '.join(DEVICE_CHOICES)} (N: a GPU number, e.g. cuda:1)"
        )
    return text


def resolve_device(value="auto"):
    """`torch.device` for a device option (text, None = "auto", or a torch.device).

    "auto" picks CUDA when `torch.cuda.is_available()`, else the CPU. "cuda" / "cuda:N" without a visible
    GPU, or with N past the last one, is a `UserInputError` saying what is visible.
    """
    import torch

    text = check_device(value)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise UserInputError(
            f"device {text!r} asks for a CUDA GPU but none is visible (torch {torch.__version__}, {build}); "
            f"use device 'cpu', or 'auto' to take a GPU only when there is one"
        )
    count = torch.cuda.device_count()
    if ":" in text and int(text.split(":")[1]) >= count:
        raise UserInputError(
            f"device {text!r}: only {count} CUDA GPU(s) are visible (cuda:0 to cuda:{count - 1}); "
            f"check CUDA_VISIBLE_DEVICES"
        )
    return torch.device(text)
