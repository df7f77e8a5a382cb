"""`emerge retriever ...`: training data (retriever_data.py), training (retriever_train.py), CliniQ's corpus,
indexing, search and evaluation (retriever_eval.py)."""

from __future__ import annotations

import click

from emerge.cli import retriever_data, retriever_eval, retriever_train


@click.group(name="retriever")
def group() -> None:
    """The DR.EHR dense retriever: training, indexing, search, evaluation."""


for _command in retriever_data.COMMANDS + retriever_train.COMMANDS + retriever_eval.COMMANDS:
    group.add_command(_command)

COMMANDS = [group]
