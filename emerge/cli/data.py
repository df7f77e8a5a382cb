"""`emerge data ...`: the synthetic cohort (data_synth.py) and the MIMIC readers (data_build.py)."""

from __future__ import annotations

import click

from emerge.cli import data_build, data_synth


@click.group(name="data")
def group() -> None:
    """EHR data: the synthetic cohort and the MIMIC-III/IV readers."""


for _command in data_synth.COMMANDS + data_build.COMMANDS:
    group.add_command(_command)

COMMANDS = [group]
