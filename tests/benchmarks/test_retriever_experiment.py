"""The stage I experiment's plumbing at a tiny scale: 40 synthetic stays, a tiny BERT, a tiny KG, 3 steps."""

from __future__ import annotations

import json

import polars as pl
import pytest

from benchmarks.stage1_synthetic.experiment import (
    ExperimentConfig,
    results_table,
    run_experiment,
    split_subjects,
)
from tests.helpers.kg import stage1_kg


def test_tiny_experiment_runs_end_to_end_and_resumes(tmp_path, monkeypatch, tiny_bert_dir):
    cfg = ExperimentConfig(
        stays=40,
        seed=3,
        base_model=str(tiny_bert_dir),
        max_steps=3,
        positives_per_anchor=4,
        anchors_per_batch=4,
        icd10_limit=15,
        eval_batch_size=16,
    )
    work = tmp_path / "work"
    result = run_experiment(work, cfg, kg=stage1_kg())

    assert result["training"]["global_step"] == 3
    assert set(result["models"]) == {"base", "stage1"}
    assert result["models"]["base"]["fingerprint"] != result["models"]["stage1"]["fingerprint"]
    for res in result["models"].values():
        assert res["icd10"]["n_queries"] >= 15
        assert res["cliniq"]["dense"]["n_queries"] == result["benchmark"]["queries"]
    assert "bm25" in result["models"]["base"]["cliniq"] and "bm25" not in result["models"]["stage1"]["cliniq"]

    # no note of a held-out patient is trained on; the benchmark holds only held-out admissions
    synth = work / "synth_40_3"
    train, heldout = split_subjects(synth, cfg.heldout_fraction, cfg.seed)
    assert heldout and train and not heldout & train
    notes = pl.concat(
        [
            pl.read_csv(synth / "note" / f"{n}.csv.gz", columns=["note_id", "subject_id", "hadm_id"])
            for n in ("discharge", "radiology")
        ]
    )
    note_subject = dict(zip(notes["note_id"], notes["subject_id"], strict=True))
    trained_ids = [
        json.loads(line)["id"] for line in next(work.glob("stage1_*.jsonl")).read_text().splitlines()
    ]
    assert trained_ids and result["stage1"]["written"] == len(trained_ids)
    assert {note_subject[i.rsplit("_", 1)[0]] for i in trained_ids} <= train
    heldout_hadm = set(notes.filter(pl.col("subject_id").is_in(list(heldout)))["hadm_id"])
    corpus = [
        json.loads(line)["_id"]
        for line in next(work.glob("cliniq_heldout_*/corpus.jsonl")).read_text().splitlines()
    ]
    assert {int(c.rsplit("_", 1)[0]) for c in corpus} <= heldout_hadm

    table = results_table(result)
    base_mp_mrr = result["models"]["base"]["cliniq"]["dense"]["cliniq"]["multi_patient"]["all"]["mrr"]
    assert table.splitlines()[2].split("|")[7].strip() == f"{100 * base_mp_mrr:.1f}"
    assert [line.split("|")[1].strip() for line in table.splitlines()[2:]] == [
        "base",
        "BM25 (reference)",
        "stage1",
    ]

    # a rerun recomputes nothing: every step would fail if it ran again
    def boom(*args, **kwargs):
        raise AssertionError("a finished step ran again")

    monkeypatch.setattr("emerge.data.synth.generate", boom)
    monkeypatch.setattr("drehr.data.files.build_stage1_file", boom)
    monkeypatch.setattr("benchmarks.stage1_synthetic.synthetic_cliniq.build_synthetic_cliniq", boom)
    monkeypatch.setattr("drehr.evaluation.suite.run_retrieval_eval", boom)
    again = run_experiment(work, cfg, kg=stage1_kg())
    assert again["models"] == result["models"]


def test_drop_frequent_positives(tmp_path):
    from benchmarks.stage1_synthetic.experiment import _drop_frequent_positives
    from drehr.data import ExampleWriter, TrainingExample, read_examples

    path = tmp_path / "s1.jsonl"
    with ExampleWriter(path) as w:  # "acute" in 3 of 4 examples (75 %), "Sepsis"/"sepsis" in 2 (50 %)
        w.write(
            [
                TrainingExample("x", ("acute", "Sepsis"), (1, 2), id="a"),
                TrainingExample("y", ("Acute", "sepsis"), (1, 2), id="b"),
                TrainingExample("z", ("acute",), (1,), id="c"),
                TrainingExample("w", ("CKD",), (3,), id="d"),
            ]
        )
    out, info = _drop_frequent_positives(path, 0.6)
    rows = list(read_examples(out))
    assert [(r.id, r.positives, r.labels) for r in rows] == [
        ("a", ("Sepsis",), (2,)),
        ("b", ("sepsis",), (2,)),
        ("d", ("CKD",), (3,)),
    ]
    assert info["dropped_positives"] == ["acute"] and info["examples_dropped"] == 1
    assert _drop_frequent_positives(path, 0.6) == (out, info)  # cached


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="heldout_fraction"):
        ExperimentConfig(heldout_fraction=1.5)
    with pytest.raises(ValueError, match="extra"):
        ExperimentConfig(stays=40, epochz=2)
