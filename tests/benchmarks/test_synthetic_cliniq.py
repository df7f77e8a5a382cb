"""The synthetic CliniQ-style benchmark (benchmarks.stage1_synthetic): typed qrels, held-out split."""

import gzip
import json

import polars as pl
import pytest

from benchmarks.stage1_synthetic.synthetic_cliniq import build_synthetic_cliniq, heldout_subjects
from foundation.errors import UserInputError

FILLER = " ".join(f"filler{i}" for i in range(95))


def _write(tmp_path):
    (tmp_path / "note").mkdir()
    (tmp_path / "truth").mkdir()
    notes = pl.DataFrame(
        {
            "note_id": ["1-RR-1", "1-DS-1", "2-DS-1"],
            "subject_id": [1, 1, 2],
            "hadm_id": [11, 11, 22],
            "note_type": ["RR", "DS", "DS"],
            "note_seq": [1, 1, 1],
            "charttime": ["2150-01-01 10:00:00", "2150-01-05 10:00:00", "2151-01-05 10:00:00"],
            "storetime": [None, None, None],
            "text": [
                "INDICATION: HTN and CHF exacerbation. " + FILLER,
                "History of hypertension. " + FILLER + " heart failure noted again.",
                "Sepsis resolved. " + FILLER,
            ],
        }
    )
    for name, prefix in (("radiology", "RR"), ("discharge", "DS")):
        part = notes.filter(pl.col("note_type") == prefix)
        with gzip.open(tmp_path / "note" / f"{name}.csv.gz", "wb") as fh:
            part.write_csv(fh)
    pl.DataFrame(
        {
            "note_id": ["1-RR-1", "1-RR-1", "1-DS-1", "1-DS-1", "2-DS-1"],
            "subject_id": [1, 1, 1, 1, 2],
            "hadm_id": [11, 11, 11, 11, 22],
            "condition": ["hypertension", "heart failure", "hypertension", "heart failure", "sepsis"],
            "surface_form": ["HTN", "CHF exacerbation", "hypertension", "heart failure", "Sepsis"],
            "match_type": ["abbreviation", "abbreviation", "string", "string", "string"],
        }
    ).write_parquet(tmp_path / "truth" / "note_mentions.parquet")


def test_benchmark_chunks_qrels_and_types(tmp_path):
    _write(tmp_path)
    stats = build_synthetic_cliniq(tmp_path, tmp_path / "bench", subjects={1})
    queries = [
        json.loads(line) for line in (tmp_path / "bench" / "queries_disease.jsonl").read_text().splitlines()
    ]
    assert [q["text"] for q in queries] == ["heart failure", "hypertension"]
    corpus = [json.loads(line) for line in (tmp_path / "bench" / "corpus.jsonl").read_text().splitlines()]
    # admission 11: radiology (100 words: 1 chunk) then discharge (102 words: 2 chunks), numbered across notes
    assert [c["_id"] for c in corpus] == ["11_0", "11_1", "11_2"]
    qrels = [line.split("\t") for line in (tmp_path / "bench" / "qrels_disease.tsv").read_text().splitlines()]
    q = {x["text"]: x["_id"] for x in queries}
    assert [q["hypertension"], "11_0", "abbreviation"] in qrels
    assert [q["heart failure"], "11_0", "abbreviation"] in qrels
    assert [q["hypertension"], "11_1", "string"] in qrels
    assert [q["heart failure"], "11_2", "string"] in qrels  # mention at the end lands in the last chunk
    assert stats["judgments"] == len(qrels) and stats["admissions"] == 1


def test_missing_truth_is_a_clear_error_and_heldout_is_deterministic(tmp_path):
    with pytest.raises(UserInputError, match="ground truth"):
        build_synthetic_cliniq(tmp_path, tmp_path / "out")
    ids = list(range(1000))
    assert heldout_subjects(ids) == heldout_subjects(ids)
    assert 150 < len(heldout_subjects(ids)) < 250
