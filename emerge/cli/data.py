"""`emerge data ...` subcommands. Thin wrappers: parse options, call one importable function."""

from __future__ import annotations

import click


@click.group(name="data")
def group() -> None:
    """EHR data: the synthetic cohort and the MIMIC-III/IV readers."""


COMMANDS = [group]
