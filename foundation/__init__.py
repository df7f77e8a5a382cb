"""Project-wide infrastructure at the bottom of the import graph (foundation <- kg <- drehr <- emerge).

- `foundation.errors`: `UserInputError` (bad input a user can fix; exit status 2) and `ArtifactError`.
- `foundation.artifacts`: versioned JSON configs, stable hashes, atomic writes, input fingerprints.
- `foundation.outputs`: folders we own (a manifest that proves it), cached steps that are reused only
  when whole and current, and the rule that no file this program did not write is ever deleted.
- `foundation.inputs`: reading user files with errors that name the file and the fix.

Nothing here imports kg, drehr or emerge.
"""

from foundation.errors import ArtifactError, UserInputError

__all__ = ["ArtifactError", "UserInputError"]
