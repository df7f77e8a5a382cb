"""Finding MIMIC tables on disk and scanning them lazily under one set of column names.

MIMIC-IV keeps lower-case files in `hosp/`, `icu/` and `note/` (`icu/icustays.csv.gz`); MIMIC-III
keeps upper-case files at one level (`ICUSTAYS.csv.gz`) with upper-case columns and `ICUSTAY_ID`
for the stay. Both may be `.csv` or `.csv.gz`. `Sources.scan(table)` hides these differences: it
returns a polars `LazyFrame` with MIMIC-IV's lower-case column names (`stay_id`, `charttime`, ...),
only the columns the readers use, integer/float columns typed and time columns parsed. The header
is checked first, so a missing column fails with the file, the column, what was found and the fix.
Nothing here collects a whole table; readers filter the lazy frame before collecting.

A damaged file fails with its name, at the header read (`foundation.inputs.reading`) or, when the
damage is further in, at the collect (`collect`, `collect_all`, `read_error`): truncated gzip,
bytes that are not UTF-8, a permission error, a value of the wrong type. A folder where a table
file belongs, or both `x.csv` and `x.csv.gz`, is refused when the tables are looked up.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

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

Version = Literal["iii", "iv"]
I64, F64, STR, TIME = pl.Int64, pl.Float64, pl.String, "time"


@dataclass(frozen=True)
class TableSpec:
    """Where one table lives in a version's layout and which of its columns we read.

    columns: source column name -> (our column name, dtype); dtype "time" is read as text and parsed
        to a datetime after filtering (parsing 300M timestamps we then drop would be wasted work).
    required: a missing required table is an error; a missing optional (event/note) table gives an
        empty modality and a logged message.
    """

    relpath: str
    columns: dict[str, tuple[str, object]]
    required: bool = False


def _iii(*cols: tuple[str, str, object]) -> dict[str, tuple[str, object]]:
    return {src: (dst, dtype) for src, dst, dtype in cols}


def _iv(*cols: tuple[str, object]) -> dict[str, tuple[str, object]]:
    return {name: (name, dtype) for name, dtype in cols}


TABLES: dict[str, dict[str, TableSpec]] = {
    "iv": {
        "patients": TableSpec(
            "hosp/patients",
            _iv(
                ("subject_id", I64), ("gender", STR), ("anchor_age", F64), ("anchor_year", I64), ("dod", TIME)
            ),
            required=True,
        ),
        "admissions": TableSpec(
            "hosp/admissions",
            _iv(
                ("subject_id", I64),
                ("hadm_id", I64),
                ("admittime", TIME),
                ("dischtime", TIME),
                ("deathtime", TIME),
                ("hospital_expire_flag", I64),
            ),
            required=True,
        ),
        "icustays": TableSpec(
            "icu/icustays",
            _iv(
                ("subject_id", I64),
                ("hadm_id", I64),
                ("stay_id", I64),
                ("first_careunit", STR),
                ("last_careunit", STR),
                ("intime", TIME),
                ("outtime", TIME),
            ),
            required=True,
        ),
        "chartevents": TableSpec(
            "icu/chartevents",
            _iv(("stay_id", I64), ("itemid", I64), ("charttime", TIME), ("value", STR), ("valuenum", F64)),
        ),
        "labevents": TableSpec(
            "hosp/labevents",
            _iv(
                ("subject_id", I64),
                ("hadm_id", I64),
                ("itemid", I64),
                ("charttime", TIME),
                ("value", STR),
                ("valuenum", F64),
            ),
        ),
        "discharge": TableSpec(
            "note/discharge",
            _iv(
                ("note_id", STR),
                ("subject_id", I64),
                ("hadm_id", I64),
                ("note_type", STR),
                ("charttime", TIME),
                ("text", STR),
            ),
        ),
        "radiology": TableSpec(
            "note/radiology",
            _iv(
                ("note_id", STR),
                ("subject_id", I64),
                ("hadm_id", I64),
                ("note_type", STR),
                ("charttime", TIME),
                ("text", STR),
            ),
        ),
    },
    "iii": {
        "patients": TableSpec(
            "PATIENTS",
            _iii(
                ("SUBJECT_ID", "subject_id", I64),
                ("GENDER", "gender", STR),
                ("DOB", "dob", TIME),
                ("DOD", "dod", TIME),
            ),
            required=True,
        ),
        "admissions": TableSpec(
            "ADMISSIONS",
            _iii(
                ("SUBJECT_ID", "subject_id", I64),
                ("HADM_ID", "hadm_id", I64),
                ("ADMITTIME", "admittime", TIME),
                ("DISCHTIME", "dischtime", TIME),
                ("DEATHTIME", "deathtime", TIME),
                ("HOSPITAL_EXPIRE_FLAG", "hospital_expire_flag", I64),
            ),
            required=True,
        ),
        "icustays": TableSpec(
            "ICUSTAYS",
            _iii(
                ("SUBJECT_ID", "subject_id", I64),
                ("HADM_ID", "hadm_id", I64),
                ("ICUSTAY_ID", "stay_id", I64),
                ("FIRST_CAREUNIT", "first_careunit", STR),
                ("LAST_CAREUNIT", "last_careunit", STR),
                ("FIRST_WARDID", "first_wardid", I64),
                ("LAST_WARDID", "last_wardid", I64),
                ("INTIME", "intime", TIME),
                ("OUTTIME", "outtime", TIME),
            ),
            required=True,
        ),
        "chartevents": TableSpec(
            "CHARTEVENTS",
            _iii(
                ("ICUSTAY_ID", "stay_id", I64),
                ("ITEMID", "itemid", I64),
                ("CHARTTIME", "charttime", TIME),
                ("VALUE", "value", STR),
                ("VALUENUM", "valuenum", F64),
            ),
        ),
        "labevents": TableSpec(
            "LABEVENTS",
            _iii(
                ("SUBJECT_ID", "subject_id", I64),
                ("HADM_ID", "hadm_id", I64),
                ("ITEMID", "itemid", I64),
                ("CHARTTIME", "charttime", TIME),
                ("VALUE", "value", STR),
                ("VALUENUM", "valuenum", F64),
            ),
        ),
        "noteevents": TableSpec(
            "NOTEEVENTS",
            _iii(
                ("ROW_ID", "note_id", STR),
                ("SUBJECT_ID", "subject_id", I64),
                ("HADM_ID", "hadm_id", I64),
                ("CATEGORY", "note_type", STR),
                ("CHARTDATE", "chartdate", TIME),
                ("CHARTTIME", "charttime", TIME),
                ("ISERROR", "iserror", STR),
                ("TEXT", "text", STR),
            ),
        ),
    },
}


def _read_header(path: Path) -> list[str]:
    """Column names from the first line, without decompressing or parsing the rest of the file."""
    compressed = path.name.endswith(".gz")
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
    """The MIMIC tables under `root` for one version, found once and scanned lazily on demand."""

    def __init__(self, root: str | Path, version: Version) -> None:
        self.root = Path(root)
        self.version = version
        if version not in TABLES:
            raise UserInputError(f"unknown MIMIC version {version!r}; expected one of {sorted(TABLES)}")
        if not self.root.is_dir():
            raise UserInputError(
                f"--root {self.root} is not a directory; point it at the MIMIC-{version.upper()} "
                f"folder (the one holding {'hosp/ and icu/' if version == 'iv' else 'ICUSTAYS.csv.gz'})"
            )
        self.paths: dict[str, Path | None] = {
            name: self._find(name, spec) for name, spec in TABLES[version].items()
        }
        for name, spec in TABLES[version].items():
            if spec.required and self.paths[name] is None:
                raise UserInputError(self._missing_message(name, spec))

    def _find(self, name: str, spec: TableSpec) -> Path | None:
        """The file of table `name`: `.csv.gz` or `.csv`; a folder there, or both files, is an error."""
        present = [
            p
            for p in (self.root / f"{spec.relpath}{suffix}" for suffix in (".csv.gz", ".csv"))
            if p.exists() or p.is_symlink()
        ]
        for path in present:
            if path.is_dir():
                raise UserInputError(
                    f"{path} is a folder, but MIMIC table {name!r} must be a file there (an unzip or a "
                    f"download may have made the folder); replace it with the table's file, or remove it"
                )
            if not path.is_file():
                raise UserInputError(
                    f"{path} is not a regular file (a broken link?); replace it with "
                    f"the {name!r} table's file, or remove it"
                )
        if len(present) > 1:
            raise UserInputError(
                f"both {present[0]} and {present[1]} exist for MIMIC table {name!r}; keep one of them "
                f"(delete the other, e.g. the .csv after checking it matches the .csv.gz) so that it is "
                f"clear which is read"
            )
        return present[0] if present else None

    def _missing_message(self, name: str, spec: TableSpec) -> str:
        hint = ""
        if self.version == "iii" and (self.root / "hosp").is_dir():
            hint = " The folder has a hosp/ subfolder: is it MIMIC-IV? Use --version iv."
        elif self.version == "iv" and any(self.root.glob("ICUSTAYS.csv*")):
            hint = " The folder has ICUSTAYS.csv*: is it MIMIC-III? Use --version iii."
        return (
            f"required table {name!r} not found: expected {self.root / spec.relpath}.csv.gz (or .csv).{hint} "
            f"Point --root at the MIMIC-{self.version.upper()} folder."
        )

    def has(self, name: str) -> bool:
        """Whether the table exists under root (optional event and note tables may be absent)."""
        return self.paths.get(name) is not None

    def describe(self, name: str) -> str:
        """Human-readable name of a table's file, for messages."""
        path = self.paths.get(name)
        return str(path) if path is not None else f"{TABLES[self.version][name].relpath}.csv.gz"

    def fingerprints(self) -> dict[str, dict | None]:
        """Name, size and mtime of every table found (None for absent ones): part of the cache key."""
        return {
            name: (file_fingerprint(p) if p is not None else None) for name, p in sorted(self.paths.items())
        }

    def scan(self, name: str) -> pl.LazyFrame:
        """Lazy frame of table `name` with our column names; raises if the file or a column is missing."""
        spec = TABLES[self.version][name]
        path = self.paths.get(name)
        if path is None:
            raise UserInputError(self._missing_message(name, spec))
        header = _read_header(path)
        repeated = sorted({c for c in header if header.count(c) > 1 and c in spec.columns})
        if repeated:
            raise UserInputError(
                f"column{'s' if len(repeated) > 1 else ''} {', '.join(f'`{c}`' for c in repeated)} "
                f"appear{'' if len(repeated) > 1 else 's'} more than once in the header of {path}; "
                f"keep one column of each name (or extract the file again)"
            )
        missing = [src for src in spec.columns if src not in header]
        if missing:
            raise UserInputError(
                f"column{'s' if len(missing) > 1 else ''} {', '.join(f'`{m}`' for m in missing)} "
                f"missing from {path} (found: {', '.join(header[:20])}"
                f"{' ...' if len(header) > 20 else ''}); is --root pointing at a "
                f"MIMIC-{self.version.upper()} folder, with --version {self.version}?"
            )
        overrides = {src: (STR if dtype == TIME else dtype) for src, (_, dtype) in spec.columns.items()}
        frame = pl.scan_csv(path, infer_schema=False, schema_overrides=overrides, quote_char='"')
        return frame.select([pl.col(src).alias(dst) for src, (dst, _) in spec.columns.items()])

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
