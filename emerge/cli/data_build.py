"""`emerge data ...` commands for build; each is added to the `data` group in emerge/cli/data.py."""

from __future__ import annotations

import click  # noqa: F401

COMMANDS: list = []
