"""`emerge retriever ...` commands for train; each is added to the `retriever` group in emerge/cli/retriever.py."""

from __future__ import annotations

import click  # noqa: F401

COMMANDS: list = []
