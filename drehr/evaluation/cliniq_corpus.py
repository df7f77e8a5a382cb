"""CliniQ's corpus rebuilt from MIMIC-III's NOTEEVENTS, byte for byte as CliniQ's `preprocess.py` writes it.

CliniQ (Zhao et al., arXiv:2502.06252; github.com/zhao-zy15/CliniQ, Apache-2.0) cannot ship its corpus;
its `preprocess.py` rebuilds `benchmark/corpus.jsonl` from NOTEEVENTS.csv and `test_hadm_ids.txt`:

- notes: rows whose CATEGORY is exactly "Discharge summary", the FIRST such row of each HADM_ID in file
  order (`drop_duplicates(subset='HADM_ID', keep='first')`), for the HADM_IDs listed in the ids file;
  written in NOTEEVENTS order, not in the ids file's order;
- cleaning (`clean_text`): every `[...]` on one line removed (regex `\\[.*?\\]` replaced by nothing, so a
  `[** ... **]` tag that spans a line break stays), each `\\n` turned into a space, runs of spaces (not
  tabs) collapsed to one, then stripped; tabs and `\\r` stay in the text;
- chunking: LangChain's `CharacterTextSplitter(separator=" ", chunk_size=100, chunk_overlap=10,
  length_function=lambda x: len(x.split()))`; `split_cliniq_text` is that splitter, step for step;
- ids `<HADM_ID>_<i>`, i from 0; one `json.dumps({"_id", "text"})` per line (ASCII-escaped).

The text read is what pandas 2 (`read_csv` then `.astype(str)`) gives CliniQ: an empty TEXT or one
of pandas' missing-value markers ("NA", "null", ...) becomes the string "nan".
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import polars as pl

from foundation.errors import UserInputError
from foundation.inputs import read_text_file, reading
from foundation.outputs import check_output_file, write_owned_text

__all__ = [
    "DISCHARGE_SUMMARY",
    "clean_cliniq_text",
    "split_cliniq_text",
    "read_hadm_ids",
    "select_discharge_summaries",
    "cliniq_corpus_lines",
    "build_cliniq_corpus",
]

logger = logging.getLogger(__name__)

DISCHARGE_SUMMARY = "Discharge summary"
_COLUMNS = ("HADM_ID", "CATEGORY", "TEXT")
# pandas 2.x default missing-value strings (pandas._libs.parsers.STR_NA_VALUES); .astype(str) gives "nan"
_PANDAS_NA = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
    "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
_TAG = re.compile(r"\[.*?\]")  # no DOTALL: a tag never spans a "\n"
_SPACES = re.compile(r" +")


def clean_cliniq_text(text: str) -> str:
    """CliniQ's `clean_text`: drop `[...]` within a line, "\\n" -> " ", collapse spaces, strip."""
    text = _TAG.sub("", text)
    text = text.replace("\n", " ")
    return _SPACES.sub(" ", text).strip()


def _words(text: str) -> int:
    return len(text.split())


def split_cliniq_text(text: str, size: int = 100, overlap: int = 10) -> list[str]:
    """LangChain's CharacterTextSplitter(separator=" ", length_function=word count).split_text(text).

    The pieces between single spaces are merged greedily while their word count stays <= `size`; when the
    next piece would pass it, the chunk is emitted (stripped, dropped if empty) and pieces are popped from
    its front until <= `overlap` words remain. The separator " " counts 0 words. A piece holding a tab
    ("a\\tb") counts 2 words, a lone tab 0; the last chunk is what remains (91-101 of 101 words).
    """
    if size <= 0 or not 0 <= overlap <= size:
        raise ValueError(f"need size > 0 and 0 <= overlap <= size, got size={size}, overlap={overlap}")
    pieces = [p for p in text.split(" ") if p != ""]
    chunks: list[str] = []
    current: list[str] = []
    total = 0
    for piece in pieces:
        length = _words(piece)
        if total + length > size and current:
            joined = " ".join(current).strip()
            if joined:
                chunks.append(joined)
            while total > overlap or (total + length > size and total > 0):
                total -= _words(current.pop(0))
        current.append(piece)
        total += length
    joined = " ".join(current).strip()
    if joined:
        chunks.append(joined)
    return chunks


def read_hadm_ids(path: str | os.PathLike) -> list[str]:
    """The HADM_IDs of an ids file (one a line, stripped, blank lines skipped), first occurrence kept."""
    lines = [line.strip() for line in read_text_file(path, "--hadm-ids file").split("\n")]
    ids = list(dict.fromkeys(line for line in lines if line))
    if not ids:
        raise UserInputError(f"--hadm-ids file {path} lists no HADM_ID; pass CliniQ's test_hadm_ids.txt")
    return ids


def _as_pandas_str(column: str) -> pl.Expr:
    value = pl.col(column)
    return pl.when(value.is_null() | value.is_in(_PANDAS_NA)).then(pl.lit("nan")).otherwise(value)


def select_discharge_summaries(
    noteevents: str | os.PathLike, hadm_ids: list[str]
) -> tuple[list[tuple[str, str]], dict]:
    """[(HADM_ID, TEXT)] of the first "Discharge summary" of each listed HADM_ID, in NOTEEVENTS order.

    Streams NOTEEVENTS (.csv or .csv.gz) with polars, keeping only the listed admissions' rows.
    Also returns a report: later discharge summaries skipped, and listed HADM_IDs without one
    (`no_discharge_summary`: in NOTEEVENTS with other notes only; `not_in_noteevents`: absent).
    """
    path = Path(noteevents)
    what = "--noteevents file"
    with reading(path, what, "pass MIMIC-III's NOTEEVENTS.csv or NOTEEVENTS.csv.gz"):
        if not path.is_file():
            raise UserInputError(f"{what} {path} not found; pass MIMIC-III's NOTEEVENTS.csv(.gz)")
        frame = pl.scan_csv(path, infer_schema=False, quote_char='"')
        header = frame.collect_schema().names()
        # the full MIMIC-III has upper-case headers, its public demo lower-case ones: match either
        by_upper = {c.upper(): c for c in header}
        frame = frame.rename({by_upper[c]: c for c in _COLUMNS if c in by_upper and by_upper[c] != c})
        missing = [c for c in _COLUMNS if c not in by_upper]
        if missing:
            raise UserInputError(
                f"column(s) {missing} missing from {path} (found: {', '.join(header[:12])}); CliniQ is "
                f"built from MIMIC-III's NOTEEVENTS.csv (ROW_ID, SUBJECT_ID, HADM_ID, ..., CATEGORY, "
                f"DESCRIPTION, CGID, ISERROR, TEXT), not MIMIC-IV-Note."
            )
        logger.info(
            "scanning %s for %d admissions (about a minute for the full 4 GB file)", path, len(hadm_ids)
        )
        is_summary = pl.col("CATEGORY") == DISCHARGE_SUMMARY
        rows = (
            frame.with_row_index("_row")
            .select("_row", _as_pandas_str("HADM_ID").alias("HADM_ID"), is_summary.alias("_summary"), "TEXT")
            .filter(pl.col("HADM_ID").is_in(hadm_ids))
            .select(
                "_row", "HADM_ID", "_summary", pl.when("_summary").then(_as_pandas_str("TEXT")).alias("TEXT")
            )
            .collect(engine="streaming")
            .sort("_row")
        )
    notes: dict[str, str] = {}
    skipped = 0
    for hadm_id, summary, text in rows.select("HADM_ID", "_summary", "TEXT").iter_rows():
        if not summary:
            continue
        if hadm_id in notes:
            skipped += 1
        else:
            notes[hadm_id] = text
    seen = set(rows["HADM_ID"].to_list())
    report = {
        "later_discharge_summaries_skipped": skipped,
        "no_discharge_summary": [h for h in hadm_ids if h in seen and h not in notes],
        "not_in_noteevents": [h for h in hadm_ids if h not in seen],
    }
    return list(notes.items()), report


def cliniq_corpus_lines(notes: list[tuple[str, str]], size: int = 100, overlap: int = 10) -> list[str]:
    """The JSON lines CliniQ writes for `(HADM_ID, TEXT)` notes: `{"_id": "<HADM_ID>_<i>", "text": ...}`."""
    return [
        json.dumps({"_id": f"{hadm_id}_{i}", "text": chunk}) + "\n"
        for hadm_id, text in notes
        for i, chunk in enumerate(split_cliniq_text(clean_cliniq_text(text), size, overlap))
    ]


def build_cliniq_corpus(
    noteevents: str | os.PathLike, hadm_ids: str | os.PathLike, out: str | os.PathLike
) -> dict:
    """Write CliniQ's corpus.jsonl to `out` (never over a file emerge did not write); return counts.

    HADM_IDs listed without a discharge summary are reported in a warning and in the result.
    """
    out_path = check_output_file(out, "--out file")  # before the long scan
    ids = read_hadm_ids(hadm_ids)
    notes, report = select_discharge_summaries(noteevents, ids)
    lines = cliniq_corpus_lines(notes)
    write_owned_text(out_path, "".join(lines), "--out file")
    absent = report["no_discharge_summary"] + report["not_in_noteevents"]
    if absent:
        logger.warning(
            "%d of the %d listed HADM_IDs have no discharge summary in %s and no chunks (e.g. %s); CliniQ's "
            "qrels for them cannot be matched: is it the full MIMIC-III v1.4 NOTEEVENTS?",
            len(absent),
            len(ids),
            noteevents,
            absent[:5],
        )
    return {"out": str(out_path), "hadm_ids": len(ids), "notes": len(notes), "chunks": len(lines), **report}
