"""Where MIMIC's files are on disk: table files and folders matched ignoring case, and the
MIMIC-IV-Note module found where a PhysioNet download puts it.

A table is `<stem>.csv.gz` or `<stem>.csv` in any case (`icustays.csv.gz`, `ICUSTAYS.csv`,
`hosp/Patients.csv.gz`): on a case-sensitive file system two of them can exist, and then it is not
clear which one to read, so `find_table_file` refuses them, naming both. A folder where the file
belongs, or a broken link, is refused too.
"""

from __future__ import annotations

import re
from pathlib import Path

from foundation.errors import UserInputError

__all__ = ["entries", "named", "find_table_file", "note_module_candidates", "SUFFIXES"]

SUFFIXES = (".csv.gz", ".csv")  # in this order: messages list the .csv.gz first
_VERSION_NAME = re.compile(r"^\d+(\.\d+)*$")


def entries(folder: Path, strict: bool = True) -> list[Path]:
    """The entries of `folder` (none when it is not a folder), sorted. A folder we may not list is a
    `UserInputError` naming it, or, when not `strict` (looking around for optional files), empty."""
    try:
        return sorted(folder.iterdir()) if folder.is_dir() else []
    except PermissionError as exc:
        if not strict:
            return []
        raise UserInputError(
            f"permission denied while listing {folder} ({exc}); give this user read access "
            f"(chmod / chown) or copy the MIMIC folder somewhere readable"
        ) from exc


def named(folder: Path, name: str, strict: bool = True) -> list[Path]:
    """Entries of `folder` called `name`, ignoring case (a case-sensitive file system may hold several)."""
    return [p for p in entries(folder, strict) if p.name.lower() == name.lower()]


def find_table_file(table: str, base: Path, relpath: str) -> Path | None:
    """The file of MIMIC table `table` at `base / relpath` + .csv.gz or .csv, every part of the path
    matched ignoring case; None when there is none. A folder there, a broken link, or two files
    (`x.csv` and `x.csv.gz`, `ICUSTAYS.csv` and `icustays.csv`) is a `UserInputError`."""
    parts = relpath.split("/")
    folders = [base]
    for part in parts[:-1]:
        folders = [d for folder in folders for d in named(folder, part) if d.is_dir()]
    present = [p for suffix in SUFFIXES for folder in folders for p in named(folder, parts[-1] + suffix)]
    for path in present:
        if path.is_dir():
            raise UserInputError(
                f"{path} is a folder, but MIMIC table {table!r} must be a file there (an unzip or a "
                f"download may have made the folder); replace it with the table's file, or remove it"
            )
        if not path.is_file():
            raise UserInputError(
                f"{path} is not a regular file (a broken link?); replace it with "
                f"the {table!r} table's file, or remove it"
            )
    if len(present) > 1:
        listed = (
            f"both {present[0]} and {present[1]}"
            if len(present) == 2
            else ", ".join(map(str, present[:-1])) + f" and {present[-1]} all"
        )
        raise UserInputError(
            f"{listed} exist for MIMIC table {table!r} (table files are matched ignoring case, as "
            f".csv or .csv.gz); keep one of them (delete the other, e.g. the .csv after checking it "
            f"matches the .csv.gz) so that it is clear which is read"
        )
    return present[0] if present else None


def note_module_candidates(root: str | Path) -> list[Path]:
    """The `note/` folders where a PhysioNet download keeps MIMIC-IV-Note beside the MIMIC-IV folder `root`.

    - `wget -r` of both projects: root `.../files/mimiciv/2.2` -> `.../files/mimic-iv-note/2.2/note`;
      the same version first, then every other version there, newest first (MIMIC-IV 3.x has no note
      module of its own version: MIMIC-IV-Note 2.2 is the one to use with it);
    - the unpacked zip files: root `.../mimic-iv-2.2` -> `.../mimic-iv-note*/note`
      (e.g. `mimic-iv-note-deidentified-free-text-clinical-notes-2.2/note`).
    Names are matched ignoring case; folders we may not list are passed over. The same-version path
    of the first layout is returned even when it does not exist (it is where the notes were expected,
    for messages); the others only when they do.
    """
    root = Path(root)
    modules: list[Path] = []
    if _VERSION_NAME.match(root.name):
        base = root.parent.parent
        found = [m for m in named(base, "mimic-iv-note", strict=False) if m.is_dir()]
        for module in found or [base / "mimic-iv-note"]:
            listed = entries(module, strict=False)
            versions = [v for v in listed if v.is_dir() and _VERSION_NAME.match(v.name)]
            versions.sort(key=lambda v: (v.name != root.name, [-int(k) for k in v.name.split(".")]))
            if not versions or versions[0].name != root.name:
                versions.insert(0, module / root.name)
            modules += versions
    modules += [
        s
        for s in entries(root.parent, strict=False)
        if s.is_dir() and s.name.lower().startswith("mimic-iv-note") and s.resolve() != root.resolve()
    ]
    return [next(iter(named(m, "note", strict=False)), m / "note") for m in modules]
