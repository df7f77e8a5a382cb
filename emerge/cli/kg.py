"""`emerge kg ...` subcommands. Thin wrappers: parse options, call one importable function."""

from __future__ import annotations

import click


@click.group(name="kg")
def group() -> None:
    """Knowledge graphs: build the starter KG, stats, entity linking."""


COMMANDS = [group]
