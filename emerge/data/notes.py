"""Clinical notes of each cohort stay, placed on the stay's clock and cleaned.

By default only notes charted inside the observation window [intime, intime + window] are kept, so
a 48 h prediction never reads text written later. MIMIC-IV: `note/radiology` and `note/discharge`
(discharge summaries are charted at discharge, so the window keeps almost none of them).
MIMIC-III: `NOTEEVENTS`, every category except "Discharge summary" unless `note_categories_iii`
says otherwise; rows marked ISERROR are skipped, and notes with only a CHARTDATE (no CHARTTIME)
cannot be placed inside the window, so they are skipped and counted.

`include_discharge_notes=True` adds the admission's discharge summaries whatever their time, with
a WARNING: they are written after the window and leak the outcome into 48 h tasks (EMERGE's
MIMIC-IV text is probably such a summary). Text is cleaned with `drehr.chunking.clean_note`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import polars as pl

from drehr.chunking import clean_note
from emerge.data.config import BuildConfig
from emerge.data.sources import Sources, collect, parse_times

__all__ = ["extract_notes", "NOTE_SCHEMA", "LEAK_WARNING"]

logger = logging.getLogger(__name__)

NOTE_SCHEMA = {"stay_id": pl.Int64, "subject_id": pl.Int64, "hadm_id": pl.Int64, "note_id": pl.String,
               "note_type": pl.String, "charttime": pl.Datetime("us"), "hours_from_intime": pl.Float64,
               "text": pl.String}
LEAK_WARNING = ("include_discharge_notes is on: discharge summaries are written after the observation "
                "window and leak the outcome into 48 h prediction tasks; use them only for studies that "
                "accept this (e.g. to reproduce EMERGE's MIMIC-IV setting)")
_DISCHARGE_III = "discharge summary"


def _in_window(notes: pl.LazyFrame, stays: pl.DataFrame, config: BuildConfig) -> pl.LazyFrame:
    """Notes of the cohort's patients charted in [intime, intime + window], on each stay's clock."""
    end = pl.col("intime") + timedelta(hours=config.window_hours)
    return (notes.join(stays.lazy().select("stay_id", "subject_id", "intime"), on="subject_id")
            .filter((pl.col("charttime") >= pl.col("intime")) & (pl.col("charttime") <= end)))


def _of_admission(notes: pl.LazyFrame, stays: pl.DataFrame) -> pl.LazyFrame:
    """Notes of the cohort stays' admissions, whatever their time (for discharge summaries)."""
    return notes.drop("subject_id").join(stays.lazy().select("stay_id", "subject_id", "hadm_id", "intime"),
                                         on="hadm_id")


def _finish(frame: pl.LazyFrame) -> pl.LazyFrame:
    hours = (pl.col("charttime") - pl.col("intime")).dt.total_seconds() / 3600
    return frame.with_columns(hours_from_intime=hours).select(list(NOTE_SCHEMA))


def _notes_iv(sources: Sources, stays: pl.DataFrame, config: BuildConfig) -> list[tuple[str, pl.LazyFrame]]:
    parts = []
    subjects = stays["subject_id"].implode()
    for name in ("radiology", "discharge"):
        if not sources.has(name):
            logger.warning("%s not found under %s: no %s notes (the public MIMIC-IV demo has no note/)",
                           sources.describe(name), sources.root, name)
            continue
        frame = parse_times(sources.scan(name).filter(pl.col("subject_id").is_in(subjects)), ["charttime"])
        parts.append((sources.describe(name), _finish(_in_window(frame, stays, config))))
        if name == "discharge" and config.include_discharge_notes:
            parts.append((sources.describe(name), _finish(_of_admission(frame, stays))))
    return parts


def _notes_iii(sources: Sources, stays: pl.DataFrame, config: BuildConfig,
               counts: dict[str, int]) -> list[tuple[str, pl.LazyFrame]]:
    if not sources.has("noteevents"):
        logger.warning("%s not found under %s: no notes", sources.describe("noteevents"), sources.root)
        return []
    what = sources.describe("noteevents")
    frame = parse_times(sources.scan("noteevents").filter(pl.col("subject_id").is_in(stays["subject_id"].implode())),
                        ["chartdate", "charttime"])
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
    counts["no_charttime"] = int(collect(
        window_notes.filter(pl.col("charttime").is_null() & pl.col("hadm_id").is_in(stays["hadm_id"].implode()))
        .select(pl.len()), what).item())
    if counts["no_charttime"]:
        logger.info("%d notes of the cohort's admissions have only a CHARTDATE and cannot be placed in the "
                    "window: skipped", counts["no_charttime"])
    parts = [(what, _finish(_in_window(window_notes.filter(pl.col("charttime").is_not_null()), stays, config)))]
    if config.include_discharge_notes:
        discharge = frame.filter(category == _DISCHARGE_III).with_columns(
            charttime=pl.coalesce("charttime", "chartdate"))
        parts.append((what, _finish(_of_admission(discharge, stays))))
    return parts


def extract_notes(sources: Sources, stays: pl.DataFrame, config: BuildConfig) -> tuple[pl.DataFrame, dict[str, int]]:
    """Notes of the cohort's stays (see module docs). stays: cohort with stay_id, subject_id, hadm_id, intime.

    Returns (notes with the columns of NOTE_SCHEMA sorted by stay and time, skip counts per reason).
    """
    counts = {"marked_error": 0, "no_charttime": 0, "empty_text": 0}
    if config.include_discharge_notes:
        logger.warning(LEAK_WARNING)
    parts = _notes_iv(sources, stays, config) if config.version == "iv" else _notes_iii(sources, stays, config, counts)
    frames = [collect(frame, what).cast(NOTE_SCHEMA) for what, frame in parts]
    notes = pl.concat(frames) if frames else pl.DataFrame(schema=NOTE_SCHEMA)
    notes = notes.unique(["stay_id", "note_id"], keep="first")
    counts["empty_text"] = int(notes["text"].is_null().sum())
    notes = notes.filter(pl.col("text").is_not_null())
    notes = notes.with_columns(text=pl.Series([clean_note(t) for t in notes["text"].to_list()], dtype=pl.String))
    notes = notes.sort("stay_id", "charttime", "note_id")
    logger.info("notes: %d notes for %d stays", notes.height, notes["stay_id"].n_unique())
    return notes, counts
