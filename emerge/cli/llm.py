"""`emerge llm ...`: run a local LLM over a JSONL of prompts (cached, resumable); convert a GGUF."""

from __future__ import annotations

import json

import click

__all__ = ["group", "COMMANDS"]


@click.group(name="llm")
def group() -> None:
    """Local LLM backends: batch generation with a persistent cache."""


@group.command("generate")
@click.option(
    "--llm",
    "llm_config",
    default="llm/smollm2.yaml",
    show_default=True,
    help="Backend config YAML: a path, or a name under the shipped configs/ (llm/smollm2.yaml, ...).",
)
@click.option(
    "--prompts",
    required=True,
    type=click.Path(dir_okay=False),
    help='JSONL, one {"id": ..., "prompt": text or chat messages} a line.',
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help='JSONL of {"id", "output"}.')
@click.option(
    "--cache",
    default=None,
    type=click.Path(dir_okay=False),
    help="SQLite LLM cache [default: $EMERGE_CACHE/llm_cache.sqlite].",
)
@click.option("--temperature", type=float, default=None, help="Override the config's sampling (0 = greedy).")
@click.option("--top-p", type=float, default=None)
@click.option("--max-new-tokens", type=int, default=None)
@click.option("--seed", type=int, default=None)
@click.option("--batch-size", type=int, default=16, show_default=True, help="Prompts per cache commit.")
def generate(llm_config, prompts, out, cache, temperature, top_p, max_new_tokens, seed, batch_size) -> None:
    """Generate one output per prompt; a rerun (or a run after a kill) reuses every cached answer."""
    from emerge.experiment.config import config_path
    from emerge.llm.jobs import generate_file

    llm_config = config_path(llm_config, "LLM config")
    overrides = {"temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens, "seed": seed}
    summary = generate_file(
        llm_config, prompts, out, cache=cache, sampling_overrides=overrides, batch_size=batch_size
    )
    click.echo(json.dumps(summary))


@group.command("convert")
@click.option(
    "--gguf",
    default=None,
    type=click.Path(dir_okay=False),
    help="GGUF file [default: the bundled SmolLM2-135M-Instruct].",
)
@click.option(
    "--cache-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Where converted folders live [default: $EMERGE_CACHE/gguf].",
)
def convert(gguf, cache_dir) -> None:
    """De-quantize a GGUF once into a safetensors HF folder (fast loads; servable by vLLM);
    prints its path."""
    from emerge.llm.jobs import convert_gguf

    click.echo(str(convert_gguf(gguf, cache_dir)))


COMMANDS = [group]
