"""Errors a user can fix.

`UserInputError` is the base of every error raised for bad input anywhere in the project (kg,
drehr and emerge all raise subclasses of it). Its message names the bad value, what was expected
and the fix; the `emerge` CLI prints it without a traceback and exits with status 2.
It lives in `kg`, the lowest package, so that drehr and emerge can share it without import cycles.
"""

from __future__ import annotations

__all__ = ["UserInputError", "ArtifactError"]


class UserInputError(ValueError):
    """Bad input the user can fix: a missing file or column, a wrong value, a stale artifact."""


class ArtifactError(UserInputError):
    """An on-disk artifact is missing, from another format version, or of the wrong kind."""
