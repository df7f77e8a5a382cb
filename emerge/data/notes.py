"""Clinical notes of each cohort stay, placed on the stay's clock and cleaned.

By default only notes charted inside the observation window [intime, intime + window] are kept, so
a 48 h prediction never reads text written later. MIMIC-IV: MIMIC-IV-Note's `radiology` and
`discharge` (`note_tables_iv`; discharge summaries are charted at discharge, so the window keeps
almost none of them), found where `Sources` says (`--note-root`, root/note/, or beside root).
MIMIC-III: `NOTEEVENTS`, every category except "Discharge summary" unless `note_categories_iii`
says otherwise; rows marked ISERROR are skipped, and notes with only a CHARTDATE (no CHARTTIME)
cannot be placed inside the window, so they are skipped and counted.

`include_discharge_notes=True` adds the admission's discharge summaries whatever their time: they
are written after the window and leak the outcome into 48 h tasks (EMERGE's MIMIC-IV text is
probably such a summary); `emerge.data.build.build_dataset` logs `LEAK_WARNING` whenever the setting
is used. Text is cleaned with `drehr.chunking.clean_note`.

A note row repeated exactly in its table (on the columns read) is kept once per stay and counted
(`duplicate_rows`, per table); a note_id with different rows keeps the first, counted
(`conflicting_note_id`) with a WARNING.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import polars as pl

from drehr.chunking import clean_note
from emerge.data.config import BuildConfig
from emerge.data.sources import Sources, collect, parse_times

__all__ = ["extract_notes", "note_tables", "NOTE_SCHEMA", "LEAK_WARNING"]

logger = logging.getLogger(__name__)

NOTE_SCHEMA = {
    "stay_id": pl.Int64,
    "subject_id": pl.Int64,
    "hadm_id": pl.Int64,
    "note_id": pl.String,
    "note_type": pl.String,
    "charttime": pl.Datetime("us"),
    "hours_from_intime": pl.Float64,
    "text": pl.String,
}
LEAK_WARNING = (
    "include_discharge_notes is on: discharge summaries are written after the observation "
    "window and leak the outcome into 48 h prediction tasks; use them only for studies that "
    "accept this (e.g. to reproduce EMERGE's MIMIC-IV setting)"
)
_DISCHARGE_III = "discharge summary"
_ROW = "_row"  # the note's row in its table: tells a repeated row from one note reached twice


def note_tables(config: BuildConfig) -> list[str]:
    """The note tables a build with `config` reads (`Sources` names)."""
    return list(config.note_tables_iv) if config.version == "iv" else ["noteevents"]


def _in_window(notes: pl.LazyFrame, stays: pl.DataFrame, config: BuildConfig) -> pl.LazyFrame:
    """Notes of the cohort's patients charted in [intime, intime + window], on each stay's clock."""
    end = pl.col("intime") + timedelta(hours=config.window_hours)
    return notes.join(stays.lazy().select("stay_id", "subject_id", "intime"), on="subject_id").filter(
        (pl.col("charttime") >= pl.col("intime")) & (pl.col("charttime") <= end)
    )


def _of_admission(notes: pl.LazyFrame, stays: pl.DataFrame) -> pl.LazyFrame:
    """Notes of the cohort stays' admissions, whatever their time (for discharge summaries)."""
    return notes.drop("subject_id").join(
        stays.lazy().select("stay_id", "subject_id", "hadm_id", "intime"), on="hadm_id"
    )


def _finish(frame: pl.LazyFrame) -> pl.LazyFrame:
    hours = (pl.col("charttime") - pl.col("intime")).dt.total_seconds() / 3600
    return frame.with_columns(hours_from_intime=hours).select(*NOTE_SCHEMA, _ROW)


def _scan(sources: Sources, name: str, subjects: pl.Series) -> pl.LazyFrame:
    """Table `name`'s rows of the cohort's patients, with their row number in the file."""
    return sources.scan(name).with_row_index(_ROW).filter(pl.col("subject_id").is_in(subjects.implode()))


def _notes_iv(sources: Sources, stays: pl.DataFrame, config: BuildConfig) -> list[tuple[str, pl.LazyFrame]]:
    parts = []
    for name in config.note_tables_iv:
        if not sources.has(name):
            logger.warning(
                "no %s notes: looked for %s. MIMIC-IV's notes are the separate MIMIC-IV-Note module "
                "(the public MIMIC-IV demo has none); pass --note-root to its note/ folder",
                name,
                sources.note_search_text([name]),
            )
            continue
        frame = parse_times(_scan(sources, name, stays["subject_id"]), ["charttime"])
        parts.append((name, _finish(_in_window(frame, stays, config))))
        if name == "discharge" and config.include_discharge_notes:
            parts.append((name, _finish(_of_admission(frame, stays))))
    return parts


def _notes_iii(
    sources: Sources, stays: pl.DataFrame, config: BuildConfig, counts: dict[str, Any]
) -> list[tuple[str, pl.LazyFrame]]:
    if not sources.has("noteevents"):
        logger.warning("no notes: looked for %s", sources.note_search_text(["noteevents"]))
        return []
    what = sources.describe("noteevents")
    frame = parse_times(_scan(sources, "noteevents", stays["subject_id"]), ["chartdate", "charttime"])
    frame = frame.with_columns(pl.col("note_type").str.strip_chars())
    is_error = pl.col("iserror").str.strip_chars().is_in(["1", "1.0"]).fill_null(False)
    counts["marked_error"] = int(collect(frame.filter(is_error).select(pl.len()), what).item())
    frame = frame.filter(~is_error)
    category = pl.col("note_type").str.to_lowercase()
    if config.note_categories_iii is None:
        keep = category != _DISCHARGE_III
    else:
        keep = category.is_in([c.lower() for c in config.note_categories_iii])
    window_notes = frame.filter(keep)
    counts["no_charttime"] = int(
        collect(
            window_notes.filter(
                pl.col("charttime").is_null() & pl.col("hadm_id").is_in(stays["hadm_id"].implode())
            ).select(pl.len()),
            what,
        ).item()
    )
    if counts["no_charttime"]:
        logger.info(
            "%d notes of the cohort's admissions have only a CHARTDATE and cannot be placed in the "
            "window: skipped",
            counts["no_charttime"],
        )
    parts = [
        (
            "noteevents",
            _finish(_in_window(window_notes.filter(pl.col("charttime").is_not_null()), stays, config)),
        )
    ]
    if config.include_discharge_notes:
        discharge = frame.filter(category == _DISCHARGE_III).with_columns(
            charttime=pl.coalesce("charttime", "chartdate")
        )
        parts.append(("noteevents", _finish(_of_admission(discharge, stays))))
    return parts


def _drop_repeats(notes: pl.DataFrame, counts: dict[str, Any]) -> pl.DataFrame:
    """One row per (stay, note): exact repeats of a table row dropped and counted per table
    (`duplicate_rows`), then one row per note_id (`conflicting_note_id`, the first kept).

    notes: the collected parts with `_table` and `_ROW`; a row reached by two parts (a discharge
    summary inside the window and of the admission) has the same `_ROW` and is no repeat.
    """
    reached = notes.unique(maintain_order=True)
    distinct = reached.unique([c for c in reached.columns if c != _ROW], keep="first", maintain_order=True)
    for table in counts["duplicate_rows"]:
        n = int((reached["_table"] == table).sum() - (distinct["_table"] == table).sum())
        counts["duplicate_rows"][table] = n
        if n:
            logger.warning("%s: %d exactly repeated note rows dropped (counted as duplicate_rows)", table, n)
    one = distinct.unique(["stay_id", "note_id"], keep="first", maintain_order=True)
    counts["conflicting_note_id"] = distinct.height - one.height
    if counts["conflicting_note_id"]:
        logger.warning(
            "%d notes share a note_id with a different row of their stay: the first one is kept "
            "(counted as conflicting_note_id); check the note tables",
            counts["conflicting_note_id"],
        )
    return one.drop("_table", _ROW)


def extract_notes(
    sources: Sources, stays: pl.DataFrame, config: BuildConfig
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Notes of the cohort's stays (see module docs). stays: cohort with stay_id, subject_id, hadm_id, intime.

    Returns (notes with the columns of NOTE_SCHEMA sorted by stay and time, skip counts per reason;
    `duplicate_rows` per table).
    """
    tables = note_tables(config)
    counts: dict[str, Any] = {
        "marked_error": 0,
        "no_charttime": 0,
        "empty_text": 0,
        "conflicting_note_id": 0,
        "duplicate_rows": dict.fromkeys(tables, 0),
    }
    parts = (
        _notes_iv(sources, stays, config)
        if config.version == "iv"
        else _notes_iii(sources, stays, config, counts)
    )
    schema = {**NOTE_SCHEMA, _ROW: pl.UInt32}
    frames = [
        collect(frame, sources.describe(name)).cast(schema).with_columns(_table=pl.lit(name))
        for name, frame in parts
    ]
    empty = pl.DataFrame(schema={**schema, "_table": pl.String})
    notes = _drop_repeats(pl.concat([empty, *frames]), counts)
    counts["empty_text"] = int(notes["text"].is_null().sum())
    notes = notes.filter(pl.col("text").is_not_null())
    notes = notes.with_columns(
        text=pl.Series([clean_note(t) for t in notes["text"].to_list()], dtype=pl.String)
    )
    notes = notes.sort("stay_id", "charttime", "note_id")
    logger.info(
        "notes: %d notes for %d of %d stays, from %s",
        notes.height,
        notes["stay_id"].n_unique(),
        stays.height,
        f"{sources.note_dir} ({sources.note_origin})" if sources.note_dir is not None else "no note table",
    )
    return notes, counts
