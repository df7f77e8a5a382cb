"""File-level jobs behind `emerge llm ...`: generate a JSONL of prompts, convert a GGUF to a HF folder.

Prompts file: one JSON object a line, `{"id": ..., "prompt": "text" | [{"role": ..., "content": ...}]}`.
Output file: `{"id": ..., "output": "..."}` lines in input order, written atomically at the end; the
work itself is committed batch by batch to the LLM cache, so a killed run resumes where it stopped.
An existing output file is replaced only if emerge wrote it (foundation.outputs), and that is checked
before anything is loaded.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from emerge.llm.base import SamplingConfig, check_prompts
from emerge.llm.batch import run_batch
from emerge.llm.cache import LLMCache
from emerge.llm.config import default_cache_dir, load_llm_config
from emerge.llm.factory import build_backend
from foundation.artifacts import iter_json_objects
from foundation.errors import UserInputError
from foundation.outputs import check_output_file, write_owned_text

__all__ = ["read_prompts", "generate_file", "convert_gguf"]

logger = logging.getLogger(__name__)


def read_prompts(path: str | os.PathLike) -> list[tuple[Any, Any]]:
    """(id, prompt) pairs from a JSONL file; errors name the line (and the id of an empty prompt)."""
    expected = '{"id": ..., "prompt": "..."}'
    items, names = [], []
    for number, row in iter_json_objects(path, expected, "(prompts file)"):
        if "id" not in row or "prompt" not in row:
            raise UserInputError(f"{path}:{number}: expected an object with keys 'id' and 'prompt'")
        items.append((row["id"], row["prompt"]))
        names.append(f"{path}:{number}: prompt of id {json.dumps(row['id'])}")
    if not items:
        raise UserInputError(f"prompts file {path} holds no prompts; expected one {expected} a line")
    check_prompts([prompt for _, prompt in items], names)  # before any model is loaded
    return items


def generate_file(
    llm: str | os.PathLike,
    prompts: str | os.PathLike,
    out: str | os.PathLike,
    cache: str | os.PathLike | None = None,
    sampling_overrides: dict[str, Any] | None = None,
    batch_size: int = 16,
) -> dict[str, Any]:
    """Generate an output for every prompt in `prompts` and write `out`; returns counts and timings.

    `out` must be absent or a file emerge wrote (a rerun to the same `out` replaces it); a user's file is
    refused before the config, the prompts or the model are read.
    """
    check_output_file(out, "--out file")
    config = load_llm_config(llm)
    items = read_prompts(prompts)
    keys = [json.dumps(key) for key, _ in items]  # ids of any JSON type, compared exactly
    overrides = {k: v for k, v in (sampling_overrides or {}).items() if v is not None}
    try:
        sampling = SamplingConfig(**{**config.sampling.model_dump(), **overrides})
    except ValidationError as exc:
        raise UserInputError(f"invalid sampling options {overrides}:\n{exc}") from exc
    cache_path = Path(cache) if cache is not None else default_cache_dir() / "llm_cache.sqlite"
    backend = build_backend(config, lazy=True)  # a fully cached rerun never loads the model
    try:
        with LLMCache(cache_path) as store:
            before = len(store)
            start = time.perf_counter()
            keyed = [(k, prompt) for k, (_, prompt) in zip(keys, items, strict=True)]
            results = run_batch(keyed, backend, sampling, cache=store, batch_size=batch_size, desc="generate")
            elapsed_s = time.perf_counter() - start
            new = len(store) - before
        load_s = getattr(backend.backend, "load_seconds", 0.0) if backend.built else 0.0
    finally:
        backend.close()
    lines = [
        json.dumps({"id": key, "output": results[k]}, ensure_ascii=False)
        for (key, _), k in zip(items, keys, strict=True)
    ]
    write_owned_text(out, "\n".join(lines) + "\n", "--out file")
    summary = {
        "prompts": len(items),
        "generated": new,
        "cache": str(cache_path),
        "model_loaded": backend.built,
        "load_s": round(load_s, 2),
        "generate_s": round(elapsed_s - load_s, 2),
        "out": str(out),
    }
    logger.info("generate: %s", summary)
    return summary


def convert_gguf(gguf: str | os.PathLike | None, cache_dir: str | os.PathLike | None = None) -> Path:
    """The HF folder (safetensors) converted from `gguf` (None = bundled SmolLM2), for vLLM or fast loads."""
    from emerge.llm.gguf import converted_folder, resolve_model_path

    source = resolve_model_path(Path(gguf) if gguf is not None else None)
    if source.suffix != ".gguf":
        raise UserInputError(f"{source} is not a .gguf file; only GGUF files need converting")
    return converted_folder(source, Path(cache_dir) if cache_dir else default_cache_dir() / "gguf")
