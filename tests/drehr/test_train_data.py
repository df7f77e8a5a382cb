"""Training data: concept labels, per-epoch positive sampling, JSONL reading, collate, configs."""

from __future__ import annotations

import pytest

from drehr.data import ExampleWriter, TrainingExample, read_examples
from drehr.training import PositiveSamplingDataset, concept_labels, load_train_config
from drehr.training.strategy import build_strategy
from foundation.errors import UserInputError
from tests.helpers import paths

CONFIGS = sorted((paths.CONFIGS / "retriever").glob("*.yaml"))


def test_concept_labels_merge_same_string_and_same_label():
    examples = [
        TrainingExample("c1", ("Heart Failure", "CHF"), (7, 7)),  # CHF and heart failure are one concept
        TrainingExample("c2", ("heart  failure", "fever")),  # same string as c1's, no labels
        TrainingExample("c3", ("congestive heart failure", "cough"), (7, 9)),  # label 7 again
    ]
    ids = concept_labels(examples)
    assert ids[0][0] == ids[0][1] == ids[1][0] == ids[2][0]
    assert len({ids[1][1], ids[2][1], ids[0][0]}) == 3


def test_sampling_fixed_count_repeats_and_changes_by_epoch():
    ds = PositiveSamplingDataset(
        [TrainingExample("a", ("x", "y")), TrainingExample("b", tuple("pqrstuvw"))], 5, seed=1
    )
    anchor, pos, labels = ds[0]
    assert anchor == "a" and len(pos) == 5 and set(pos) == {"x", "y"} and pos.count("x") in (2, 3)
    assert len(labels) == 5 and labels[pos.index("x")] != labels[pos.index("y")]
    _, first, _ = ds[1]
    assert len(set(first)) == 5 and ds[1][1] == first  # without replacement, deterministic
    draws = set()
    for epoch in range(6):
        ds.set_epoch(epoch)
        draws.add(tuple(ds[1][1]))
    assert len(draws) > 1


def test_read_examples_for_training(tmp_path):
    good = tmp_path / "d.jsonl"
    good.write_text(
        '{"anchor": "chunk one", "positives": ["a", "b"], "labels": [1, 2]}\n\n'
        '{"anchor": "chunk two", "positives": ["c"]}\n'
    )
    examples = list(read_examples(good))
    assert examples[0].labels == (1, 2) and examples[1].labels is None and examples[1].positives == ("c",)
    assert [e.id for e in examples] == ["1", "3"]  # no id in the file: the line number
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"anchor": "x", "positives": ["a"]}\n{"anchor": "y"}\n')
    with pytest.raises(UserInputError, match=r"bad.jsonl:2"):
        list(read_examples(bad))
    mismatched = tmp_path / "m.jsonl"
    mismatched.write_text('{"anchor": "x", "positives": ["a", "b"], "labels": [1]}\n')
    with pytest.raises(UserInputError, match=r"m.jsonl:1: .*1 labels for 2 positives"):
        list(read_examples(mismatched))
    empty = tmp_path / "e.jsonl"
    empty.write_text('{"anchor": "x", "positives": []}\n')
    with pytest.raises(UserInputError, match=r"e.jsonl:1: .*no positives"):
        list(read_examples(empty))


def test_read_examples_last_line_without_newline(tmp_path):
    """A whole last line without its newline (a hand-written file) is read; a cut-off one is skipped."""
    path = tmp_path / "d.jsonl"
    path.write_text('{"anchor": "x", "positives": ["a"]}\n{"anchor": "y", "positives": ["b"]}')
    assert [e.anchor for e in read_examples(path)] == ["x", "y"]
    path.write_text('{"anchor": "x", "positives": ["a"]}\n{"anchor": "y", "posi')
    assert [e.anchor for e in read_examples(path)] == ["x"]


def test_concept_ids_are_what_they_were_before_one_reader(tmp_path):
    """Builders' files (labels per positive) and hand-written ones (no labels) give the grouping that
    training had with its own reader: labels merge concepts, missing labels stay missing."""
    path = tmp_path / "mixed.jsonl"
    with ExampleWriter(path) as writer:
        writer.write([TrainingExample("chunk a", ("HTN", "hypertension", "CKD"), (5, 5, 6), id="a")])
    with path.open("a") as fh:
        fh.write(
            '{"anchor": "chunk b", "positives": ["Hypertension", "htn", "fever"]}\n'
            '{"anchor": "chunk c", "positives": ["ckd", "renal failure"], "labels": [6, 6]}\n'
        )
    examples = list(read_examples(path))
    assert [e.labels for e in examples] == [(5, 5, 6), None, (6, 6)]
    ids = concept_labels(examples)
    assert ids == [[0, 0, 1], [0, 0, 2], [1, 1]]


def test_collate_builds_owner_and_labels(tiny_bert_dir):
    from drehr.model import BiEncoder
    from drehr.training import Collator

    model = BiEncoder.from_pretrained(tiny_bert_dir, pooling="cls")
    collate = Collator(model, "passage", anchor_max_length=6, positive_max_length=4)
    batch = collate(
        [
            ("heart failure with fever and cough", ["fever", "cough"], [3, 4]),
            ("sepsis", ["sepsis", "a b c"], [5, 5]),
        ]
    )
    assert batch["owner"].tolist() == [0, 0, 1, 1] and batch["labels"].tolist() == [3, 4, 5, 5]
    assert batch["anchor"]["input_ids"].shape == (2, 6) and batch["positive"]["input_ids"].shape[0] == 4
    assert collate.truncated == {"anchor": 1, "positive": 1}  # "a b c" is [CLS] a b c [SEP]: 5 > 4


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_config_file_loads(path):
    config = load_train_config(path)
    # DR.EHR's lr for the note recipes; knowledge alignment's InfoNCE recipe was chosen at 3e-4
    assert config.lr == (3e-4 if path.stem == "kg_align_minilm" else 1e-4) and config.warmup_ratio == 0.1


def test_config_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("loss: {name: triplet}\nepochs: 0\n")
    with pytest.raises(
        UserInputError, match=r"is not a valid TrainConfig:\n  - loss: .*\n  - epochs: .*\(got 0\)"
    ):
        load_train_config(bad)
    with pytest.raises(UserInputError, match="not found"):
        load_train_config(tmp_path / "missing.yaml")


def test_deepspeed_without_package_names_the_gpu_extra():
    import importlib.util

    if importlib.util.find_spec("deepspeed") is not None:
        pytest.skip("deepspeed is installed here")
    large = load_train_config(next(p for p in CONFIGS if "large" in p.stem))
    with pytest.raises(UserInputError, match=r"emerge-drehr\[gpu\]"):
        build_strategy(large)
