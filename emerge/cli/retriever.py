"""`emerge retriever ...` subcommands. Thin wrappers: parse options, call one importable function."""

from __future__ import annotations

import click


@click.group(name="retriever")
def group() -> None:
    """The DR.EHR dense retriever: training, indexing, evaluation."""


COMMANDS = [group]
