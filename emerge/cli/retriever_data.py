"""`emerge retriever build-stage1|build-stage2|build-qa`: training data for the retriever."""

from __future__ import annotations

import click  # noqa: F401

COMMANDS: list = []
