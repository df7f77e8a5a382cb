"""Writing the cohort: gzipped CSVs in MIMIC-IV's layout, ground-truth parquet, and SYNTHETIC.md.

CSV files are written through a temporary name and renamed, with gzip's mtime fixed at 0, so the
same seed gives byte-identical files. Datetimes are "YYYY-MM-DD HH:MM:SS", dates "YYYY-MM-DD",
missing values empty fields; text with commas or newlines is quoted, as in MIMIC-IV.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import polars as pl

from emerge.data.synth.schema import SCHEMAS

__all__ = ["write_csv_gz", "write_parquet", "COMPRESSLEVEL"]

COMPRESSLEVEL = 2


def _check(table: str, df: pl.DataFrame) -> None:
    expected = list(SCHEMAS[table])
    if df.columns != expected:
        raise ValueError(f"{table}: columns {df.columns} differ from MIMIC-IV's {expected}")


def write_csv_gz(out: Path, table: str, df: pl.DataFrame) -> Path:
    """Write `df` as out/<table>.csv.gz (e.g. table "icu/chartevents"), atomically."""
    _check(table, df)
    path = out / f"{table}.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = df.write_csv(datetime_format="%Y-%m-%d %H:%M:%S", date_format="%Y-%m-%d").encode("utf-8")
    tmp = path.with_name(f".{path.name}.tmp")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=COMPRESSLEVEL, mtime=0) as fh,
    ):
        fh.write(data)
    os.replace(tmp, path)
    return path


def write_parquet(path: Path, df: pl.DataFrame) -> Path:
    """Write a ground-truth parquet file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    df.write_parquet(tmp)
    os.replace(tmp, path)
    return path
