"""Note lists -> note/radiology and note/discharge tables with MIMIC-IV-Note ids, plus the mention table.

MIMIC-IV-Note numbers notes per patient and type in time order (`note_seq`) and names them
"<subject_id>-RR-<note_seq>" / "<subject_id>-DS-<note_seq>"; numbering does not start at 1 because
the full database holds notes outside the ICU. We draw a start per patient and count up from it.
"""

from __future__ import annotations

import random

import polars as pl

from emerge.data.synth.conditions import CONDITIONS
from emerge.data.synth.notes import Mention, Note
from emerge.data.synth.schema import SCHEMAS

__all__ = ["note_tables"]


def note_tables(
    notes: list[Note], mentions: list[Mention], r: random.Random
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(radiology, discharge, note_mentions) frames; note_mentions has note_id, subject_id, hadm_id,
    condition, surface_form, match_type."""
    df = pl.DataFrame(
        {
            "_note": list(range(len(notes))),
            "note_type": [n.kind for n in notes],
            "subject_id": [n.subject_id for n in notes],
            "hadm_id": [n.hadm_id for n in notes],
            "charttime": [n.charttime for n in notes],
            "storetime": [n.storetime for n in notes],
            "text": [n.text for n in notes],
        },
        schema_overrides={
            "subject_id": pl.Int64,
            "hadm_id": pl.Int64,
            "charttime": pl.Int64,
            "storetime": pl.Int64,
        },
    )
    subjects = sorted(set(df["subject_id"].to_list()))
    start = pl.DataFrame(
        {"subject_id": subjects, "_start": [r.randint(1, 20) for _ in subjects]},
        schema={"subject_id": pl.Int64, "_start": pl.Int64},
    )
    df = (
        df.sort("subject_id", "note_type", "charttime", "_note")
        .join(start, on="subject_id", how="left")
        .with_columns(note_seq=pl.col("_start") + pl.int_range(pl.len()).over("subject_id", "note_type"))
        .with_columns(
            note_id=pl.format("{}-{}-{}", "subject_id", "note_type", "note_seq"),
            charttime=pl.from_epoch("charttime", "s"),
            storetime=pl.from_epoch("storetime", "s"),
        )
    )
    cols = [pl.col(c).cast(t) for c, t in SCHEMAS["note/radiology"].items()]
    radiology = df.filter(pl.col("note_type") == "RR").select(cols)
    discharge = df.filter(pl.col("note_type") == "DS").select(cols)
    m = pl.DataFrame(
        {
            "_note": [x.note for x in mentions],
            "condition": [CONDITIONS[x.condition].name for x in mentions],
            "surface_form": [x.surface_form for x in mentions],
            "match_type": [x.match_type for x in mentions],
        },
        schema={
            "_note": pl.Int64,
            "condition": pl.String,
            "surface_form": pl.String,
            "match_type": pl.String,
        },
    )
    m = (
        m.with_row_index("_k")
        .join(df.select("_note", "note_id", "subject_id", "hadm_id"), on="_note")
        .sort("_k")
        .select("note_id", "subject_id", "hadm_id", "condition", "surface_form", "match_type")
    )
    return radiology, discharge, m
