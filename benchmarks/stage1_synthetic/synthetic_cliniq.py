"""A CliniQ-style retrieval benchmark built from the synthetic cohort's notes and ground truth.

Queries are condition names; the corpus is the 100-word chunks (10-word overlap, DR.EHR cleaning)
of the notes of held-out admissions; a chunk is relevant to a condition when it contains a mention
of it that the generator recorded (truth/note_mentions.parquet), typed by the mention's match type
(string, synonym or abbreviation; the easiest one when a chunk has several). As in CliniQ, the
"patient" is the admission: chunk ids are `<hadm_id>_<i>`, numbered across the admission's notes in
time order. Written in CliniQ's layout (queries_disease.jsonl, qrels_disease.tsv without header,
corpus.jsonl), so `emerge retriever eval --format cliniq` reads it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection
from pathlib import Path

import polars as pl

from drehr.chunking import chunk_note
from foundation.errors import UserInputError

__all__ = ["build_synthetic_cliniq", "heldout_subjects"]

logger = logging.getLogger(__name__)

_EASIEST_FIRST = ("string", "synonym", "abbreviation")


def heldout_subjects(subject_ids: Collection[int], fraction: float = 0.2, seed: int = 0) -> set[int]:
    """A deterministic `fraction` of subjects (by a seeded hash), for when no split is given."""
    from foundation.artifacts import stable_hash

    return {s for s in subject_ids if int(stable_hash(seed, int(s), length=8), 16) / 16**8 < fraction}


def _read_notes(synth_dir: Path) -> pl.DataFrame:
    frames = []
    for name in ("discharge", "radiology"):
        path = synth_dir / "note" / f"{name}.csv.gz"
        if path.is_file():
            frames.append(
                pl.read_csv(
                    path,
                    columns=["note_id", "subject_id", "hadm_id", "charttime", "text"],
                    schema_overrides={"charttime": pl.Utf8},
                )
            )
    if not frames:
        raise UserInputError(
            f"no notes under {synth_dir}/note/; is {synth_dir} a folder written by `emerge data synth`?"
        )
    return pl.concat(frames).sort(["hadm_id", "charttime", "note_id"])


def build_synthetic_cliniq(
    synth_dir: str | Path, out_dir: str | Path, subjects: Collection[int] | None = None, min_relevant: int = 1
) -> dict[str, int]:
    """Write the benchmark for the admissions of `subjects` (default: a seeded 20 % of patients)."""
    synth_dir, out_dir = Path(synth_dir), Path(out_dir)
    mentions_path = synth_dir / "truth" / "note_mentions.parquet"
    if not mentions_path.is_file():
        raise UserInputError(
            f"{mentions_path} not found; the benchmark needs the ground truth that "
            "`emerge data synth` writes under truth/"
        )
    notes = _read_notes(synth_dir)
    mentions = pl.read_parquet(mentions_path)
    subjects = (
        set(subjects) if subjects is not None else heldout_subjects(notes["subject_id"].unique().to_list())
    )
    notes = notes.filter(pl.col("subject_id").is_in(list(subjects)))
    mentions = mentions.filter(pl.col("note_id").is_in(notes["note_id"].implode()))
    by_note: dict[str, list[tuple[str, str, str]]] = {}
    for row in mentions.select("note_id", "condition", "surface_form", "match_type").iter_rows():
        by_note.setdefault(row[0], []).append((row[1], row[2].lower(), row[3]))

    corpus, qrels = [], {}  # qrels: (condition, chunk_id) -> match type
    counters: dict[int, int] = {}
    for note_id, hadm_id, text in notes.select("note_id", "hadm_id", "text").iter_rows():
        for chunk in chunk_note(note_id, str(hadm_id), text, min_words=1):
            i = counters.get(hadm_id, 0)
            counters[hadm_id] = i + 1
            chunk_id = f"{hadm_id}_{i}"
            corpus.append({"_id": chunk_id, "text": chunk.text})
            lower = chunk.text.lower()
            for condition, surface, match_type in by_note.get(note_id, ()):
                if re.search(rf"(?<!\w){re.escape(surface)}(?!\w)", lower):
                    key = (condition, chunk_id)
                    old = qrels.get(key)
                    if old is None or _EASIEST_FIRST.index(match_type) < _EASIEST_FIRST.index(old):
                        qrels[key] = match_type
    conditions = sorted({c for c, _ in qrels})
    counts = {c: sum(1 for (q, _) in qrels if q == c) for c in conditions}
    conditions = [c for c in conditions if counts[c] >= min_relevant]
    if not conditions:
        raise UserInputError(
            f"no condition mention found in the notes of the {len(subjects)} held-out patients"
        )
    query_ids = {c: f"q{i}" for i, c in enumerate(conditions)}
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "queries_disease.jsonl").open("w") as fh:
        for c in conditions:
            fh.write(json.dumps({"_id": query_ids[c], "text": c}) + "\n")
    with (out_dir / "qrels_disease.tsv").open("w") as fh:
        for (c, chunk_id), match_type in sorted(qrels.items()):
            if c in query_ids:
                fh.write(f"{query_ids[c]}\t{chunk_id}\t{match_type}\n")
    with (out_dir / "corpus.jsonl").open("w") as fh:
        for row in corpus:
            fh.write(json.dumps(row) + "\n")
    stats = {
        "queries": len(conditions),
        "chunks": len(corpus),
        "admissions": len(counters),
        "judgments": sum(1 for c, _ in qrels if c in query_ids),
    }
    for t in _EASIEST_FIRST:
        stats[f"judgments_{t}"] = sum(1 for (c, _), m in qrels.items() if m == t and c in query_ids)
    logger.info("synthetic CliniQ benchmark in %s: %s", out_dir, stats)
    return stats
