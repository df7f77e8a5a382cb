"""Finding MIMIC tables on disk and scanning them lazily under one set of column names.

MIMIC-IV keeps lower-case files in `hosp/` and `icu/` (`icu/icustays.csv.gz`); MIMIC-III keeps
upper-case files at one level (`ICUSTAYS.csv.gz`) with upper-case columns and `ICUSTAY_ID` for the
stay, while the public MIMIC-III demo has the same files with lower-case headers. File, folder and
column names are matched ignoring case, and a table may be `.csv.gz` or `.csv`: two files that would
both match (`icustays.csv.gz` and `ICUSTAYS.csv`) are refused with both names. `Sources.scan(table)`
hides these differences: it returns a polars `LazyFrame` with MIMIC-IV's lower-case column names
(`stay_id`, `charttime`, ...), only the columns the readers use, integer/float columns typed and time
columns parsed. The header is checked first, so a missing column fails with the file, the column,
what was found and the fix. Nothing here collects a whole table; readers filter the lazy frame first.

Notes: MIMIC-IV's live in a separate PhysioNet module, MIMIC-IV-Note (`mimic-iv-note/2.2/note/`
beside `mimiciv/2.2/`). The note tables are looked up, in order, in `note_root` when given (the
`note/` folder or the folder above it; for MIMIC-III the folder holding NOTEEVENTS), else under
`root` (`note/`, or root itself for MIMIC-III), then, for MIMIC-IV, beside root as PhysioNet lays
the modules out (`emerge.data.layout.note_module_candidates`). The first folder holding a note
table is used for all of them (`Sources.note_dir`, `note_origin`; the folders looked at are in
`note_dirs_searched`). Finding files ignoring case: `emerge.data.layout`; the schema:
`emerge.data.tables`.

A damaged file fails with its name, at the header read (`foundation.inputs.reading`) or, when the
damage is further in, at the collect (`collect`, `collect_all`, `read_error`): truncated gzip,
bytes that are not UTF-8, a permission error, a value of the wrong type. A folder where a table
file belongs, or two files for one table, is refused when the tables are looked up.
"""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import polars as pl

from emerge.data.layout import entries, find_table_file, named, note_module_candidates
from emerge.data.tables import TABLES, TIME, TableSpec, Version
from foundation.artifacts import file_fingerprint
from foundation.errors import UserInputError
from foundation.inputs import reading

__all__ = [
    "TableSpec",
    "TABLES",
    "Sources",
    "collect",
    "collect_all",
    "parse_times",
    "bad_value_error",
    "BAD_VALUE_ERRORS",
    "READ_ERRORS",
    "read_error",
]

logger = logging.getLogger(__name__)


def _read_header(path: Path) -> list[str]:
    """Column names from the first line, without decompressing or parsing the rest of the file."""
    compressed = path.name.lower().endswith(".gz")
    with reading(path, "MIMIC table", "download or extract it again from the MIMIC release"):
        if not compressed:
            with open(path, "rb") as fh:
                if fh.read(2) == b"\x1f\x8b":
                    raise UserInputError(
                        f"{path} is gzip-compressed but named .csv; rename it to "
                        f"{path.name}.gz (or decompress it with gunzip)"
                    )
        with (gzip.open if compressed else open)(path, "rt", encoding="utf-8-sig", newline="") as fh:
            line = fh.readline()  # utf-8-sig: a byte-order mark is not part of the first column's name
    if not line.strip():
        raise UserInputError(f"{path} is empty (no header line); re-extract it from the MIMIC download")
    return [c.strip().strip('"') for c in line.rstrip("\r\n").split(",")]


def collect(frame: pl.LazyFrame, what: str, streaming: bool = False) -> pl.DataFrame:
    """Collect a lazy frame, turning read and parse errors into a `UserInputError` naming `what`.

    Polars' message names the bad value and column ("could not parse `zz` as dtype `i64` at column
    'stay_id'"); we add the file(s) and the fix (see `read_error`).
    """
    return collect_all([frame], what, streaming)[0]


def collect_all(frames: list[pl.LazyFrame], what: str, streaming: bool = False) -> list[pl.DataFrame]:
    """`collect` for several lazy frames at once (polars may share their scans)."""
    try:
        return pl.collect_all(frames, engine="streaming" if streaming else "auto")
    except READ_ERRORS as exc:
        raise read_error(exc, what) from exc


BAD_VALUE_ERRORS = (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError)
# What polars raises while scanning a damaged CSV: OSError for a truncated gzip ("unexpected end of
# file") or a permission error, ComputeError for bytes that are not UTF-8 or a value of the wrong type.
READ_ERRORS = (OSError, *BAD_VALUE_ERRORS)


def bad_value_error(exc: Exception, what: str) -> UserInputError:
    """The `UserInputError` for a polars parse/cast error `exc` raised while reading `what` (a file)."""
    first = _first_line(exc)
    return UserInputError(
        f"bad value while reading {what}: {first}. The column's type does not match MIMIC's "
        f"documented schema; fix or remove the offending rows (or re-extract the file)."
    )


def read_error(exc: BaseException, what: str) -> UserInputError:
    """The `UserInputError` for an error of `READ_ERRORS` raised while scanning `what` (file name(s)).

    The header read catches a file damaged at its start; this names the file when the damage is
    further in, found only by the full scan.
    """
    first = _first_line(exc)
    low = first.lower()
    if isinstance(exc, PermissionError):
        return UserInputError(
            f"permission denied while reading {what} ({first}); give this user read access "
            f"(chmod / chown) or copy the MIMIC folder somewhere readable"
        )
    if "invalid utf-8" in low or "invalid utf8" in low:
        return UserInputError(
            f"{what} is not UTF-8 text ({first}); MIMIC tables are UTF-8: convert the file (e.g. "
            f"`zcat x.csv.gz | iconv -f latin1 -t utf-8 | gzip > y.csv.gz`) or extract it again"
        )
    if isinstance(exc, OSError) or any(w in low for w in ("end of file", "gzip", "decompress", "deflate")):
        return UserInputError(
            f"{what} is truncated or not a valid (gzipped) CSV file ({first}); "
            f"download or extract it again from the MIMIC release"
        )
    if "more fields" in low:  # polars checks this when every column of the file is read
        return UserInputError(
            f"{what} has a row with more fields than its header ({first}); a stray comma or an "
            f"unquoted text field? Fix the row or extract the file again"
        )
    return bad_value_error(exc, what)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


class Sources:
    """The MIMIC tables under `root` for one version, found once and scanned lazily on demand.

    note_root: where the note tables are (see the module docs); None looks under root, then beside it.
    """

    def __init__(self, root: str | Path, version: Version, note_root: str | Path | None = None) -> None:
        self.root = Path(root)
        self.version = version
        if version not in TABLES:
            raise UserInputError(f"unknown MIMIC version {version!r}; expected one of {sorted(TABLES)}")
        if not self.root.is_dir():
            raise UserInputError(
                f"--root {self.root} is not a directory; point it at the MIMIC-{version.upper()} "
                f"folder (the one holding {'hosp/ and icu/' if version == 'iv' else 'ICUSTAYS.csv.gz'})"
            )
        self.note_root = Path(note_root) if note_root is not None else None
        if self.note_root is not None and not self.note_root.is_dir():
            raise UserInputError(
                f"--note-root {self.note_root} is not a directory; point it at the folder holding "
                f"{self._note_files_hint()}"
            )
        specs = TABLES[version]
        self.paths: dict[str, Path | None] = {
            name: find_table_file(name, self.root, spec.relpath)
            for name, spec in specs.items()
            if not spec.note
        }
        for name, spec in specs.items():
            if spec.required and self.paths[name] is None:
                raise UserInputError(self._missing_message(name, spec))
        self.note_dir, self.note_origin, self.note_dirs_searched = self._find_notes()
        if self.note_dir is not None:
            logger.info(
                "note tables %s read from %s (%s)",
                ", ".join(n for n in self.note_names() if self.has(n)),
                self.note_dir,
                self.note_origin,
            )

    # --- finding files ----------------------------------------------------------------------------

    def note_names(self) -> list[str]:
        """The names of this version's note tables (`radiology`, `discharge` / `noteevents`)."""
        return [name for name, spec in TABLES[self.version].items() if spec.note]

    def _note_files_hint(self) -> str:
        if self.version == "iv":
            return "MIMIC-IV-Note's discharge.csv.gz and radiology.csv.gz (its note/ folder or the one above)"
        return "MIMIC-III's NOTEEVENTS.csv.gz"

    def _note_candidates(self) -> list[tuple[Path, str]]:
        """(folder, where it comes from) to look for note tables in, in order."""
        if self.note_root is not None:
            folders = [self.note_root]
            if self.version == "iv":
                folders += [next(iter(named(self.note_root, "note")), self.note_root / "note")]
            return [(f, "--note-root") for f in folders]
        default = self.root
        for part in TABLES[self.version][self.note_names()[0]].relpath.split("/")[:-1]:
            default = next(iter(named(default, part)), default / part)
        candidates = [(default, "under --root")]
        if self.version == "iv":
            candidates += [(d, "found beside --root") for d in note_module_candidates(self.root)]
        return candidates

    def _find_notes(self) -> tuple[Path | None, str | None, list[Path]]:
        """The first candidate folder holding a note table: its tables go into `paths`."""
        searched: list[Path] = []
        for folder, origin in self._note_candidates():
            if folder in searched:
                continue
            searched.append(folder)
            found = {n: find_table_file(n, folder, TABLES[self.version][n].stem) for n in self.note_names()}
            if any(p is not None for p in found.values()):
                self.paths.update(found)
                return folder, origin, searched
        self.paths.update(dict.fromkeys(self.note_names()))
        self.note_dirs_searched = searched
        if self.note_root is not None:
            raise UserInputError(
                f"--note-root {self.note_root} holds no note table: looked for "
                f"{self.note_search_text()}; point it at the folder holding {self._note_files_hint()}"
            )
        return None, None, searched

    def _missing_message(self, name: str, spec: TableSpec) -> str:
        hint = ""
        if self.version == "iii" and any(d.is_dir() for d in named(self.root, "hosp")):
            hint = " The folder has a hosp/ subfolder: is it MIMIC-IV? Use --version iv."
        elif self.version == "iv" and any(
            p.name.lower().startswith("icustays.csv") for p in entries(self.root)
        ):
            hint = " The folder has ICUSTAYS.csv*: is it MIMIC-III? Use --version iii."
        return (
            f"required table {name!r} not found: expected {self.root / spec.relpath}.csv.gz (or .csv; "
            f"names in any case).{hint} Point --root at the MIMIC-{self.version.upper()} folder."
        )

    # --- what was found ---------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        """Whether the table exists (optional event and note tables may be absent)."""
        return self.paths.get(name) is not None

    def describe(self, name: str) -> str:
        """Human-readable name of a table's file, for messages."""
        path = self.paths.get(name)
        if path is not None:
            return str(path)
        spec = TABLES[self.version][name]
        if spec.note and self.note_dirs_searched:
            return str(self.note_dirs_searched[0] / f"{spec.stem}.csv.gz")
        return f"{spec.relpath}.csv.gz"

    def note_search_text(self, names: list[str] | None = None) -> str:
        """The note files looked for, folder by folder, for messages."""
        stems = [TABLES[self.version][n].stem for n in (names or self.note_names())]
        files = [str(folder / f"{stem}.csv.gz") for folder in self.note_dirs_searched for stem in stems]
        return ", ".join(files) + " (or .csv; names in any case)"

    def require_note_tables(self, names: list[str] | None, reason: str) -> list[str]:
        """The note tables among `names` (default: all) that exist; none is a `UserInputError` that
        starts with `reason` ("models of X read notes") and names every path looked at."""
        names = names or self.note_names()
        found = [n for n in names if self.has(n)]
        if found:
            return found
        if self.version == "iv":
            fix = (
                "MIMIC-IV's notes are a separate PhysioNet module (MIMIC-IV-Note, credentialed): "
                "download it and pass --note-root /path/to/mimic-iv-note/2.2/note (data.note_root in an "
                "experiment YAML), or unpack it beside the MIMIC-IV folder as PhysioNet does "
                "(mimiciv/2.2 and mimic-iv-note/2.2/note)"
            )
        else:
            fix = "put NOTEEVENTS.csv.gz in --root, or pass --note-root to the folder holding it"
        raise UserInputError(
            f"{reason} but no note table was found: looked for {self.note_search_text(names)}. {fix}"
        )

    def fingerprints(self) -> dict[str, dict | None]:
        """Name, size and content hash of every table found (None for absent ones): part of the cache key."""
        return {
            name: (file_fingerprint(p) if p is not None else None) for name, p in sorted(self.paths.items())
        }

    # --- reading ----------------------------------------------------------------------------------

    def scan(self, name: str) -> pl.LazyFrame:
        """Lazy frame of table `name` with our column names; raises if the file or a column is missing.

        Header names are matched ignoring case (`SUBJECT_ID` in MIMIC-III, `subject_id` in its demo)."""
        spec = TABLES[self.version][name]
        path = self.paths.get(name)
        if path is None:
            raise UserInputError(self._missing_message(name, spec))
        header = _read_header(path)
        lower = [c.lower() for c in header]
        wanted = {src.lower() for src in spec.columns}
        repeated = [c for c in dict.fromkeys(header) if c.lower() in wanted and lower.count(c.lower()) > 1]
        if repeated:
            alike = len({c.lower() for c in repeated}) < len(repeated)
            raise UserInputError(
                f"column{'s' if len(repeated) > 1 else ''} {', '.join(f'`{c}`' for c in repeated)} "
                f"appear{'' if len(repeated) > 1 else 's'} more than once in the header of {path}"
                f"{' (column names are compared ignoring case)' if alike else ''}; "
                f"keep one column of each name (or extract the file again)"
            )
        missing = [src for src in spec.columns if src.lower() not in lower]
        if missing:
            raise UserInputError(
                f"column{'s' if len(missing) > 1 else ''} {', '.join(f'`{m}`' for m in missing)} "
                f"missing from {path} (found: {', '.join(header[:20])}"
                f"{' ...' if len(header) > 20 else ''}); is --root pointing at a "
                f"MIMIC-{self.version.upper()} folder, with --version {self.version}?"
            )
        actual = {src: header[lower.index(src.lower())] for src in spec.columns}
        overrides = {
            actual[src]: (pl.String if dtype == TIME else dtype) for src, (_, dtype) in spec.columns.items()
        }
        frame = pl.scan_csv(path, infer_schema=False, schema_overrides=overrides, quote_char='"')
        return frame.select([pl.col(actual[src]).alias(dst) for src, (dst, _) in spec.columns.items()])

    def time_columns(self, name: str) -> list[str]:
        """Our names of the columns of `name` that hold timestamps."""
        return [dst for dst, dtype in TABLES[self.version][name].columns.values() if dtype == TIME]


def parse_times(frame: pl.LazyFrame, columns: list[str], fmt: str | None = None) -> pl.LazyFrame:
    """Parse MIMIC timestamps ("2150-01-01 10:00:00", or date-only "2150-01-01" as in CHARTDATE).

    `fmt` (e.g. "%Y-%m-%d %H:%M:%S") is ~2.5x faster than letting polars infer the format and is
    used for the event tables' charttime, the hot path; without it the format is inferred from the
    column's values. Empty fields stay null. Strict: a value that is not a timestamp raises (polars
    names the column) and `collect` turns that into a `UserInputError` naming the file.
    """
    if fmt is not None:
        return frame.with_columns(
            pl.col(c).str.to_datetime(fmt, strict=True, time_unit="us") for c in columns
        )
    return frame.with_columns(
        pl.col(c).str.strip_chars().str.to_datetime(strict=True, time_unit="us").alias(c) for c in columns
    )
