"""`emerge rag ...` subcommands. Thin wrappers: parse options, call one importable function."""

from __future__ import annotations

import click


@click.group(name="rag")
def group() -> None:
    """The RAG stage: entities, linking, task-specific summaries."""


COMMANDS = [group]
