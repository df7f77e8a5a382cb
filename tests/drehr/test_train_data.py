"""Training data: concept labels, per-epoch positive sampling, JSONL reading, collate, configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from drehr.training import (
    PositiveSamplingDataset,
    TrainExample,
    concept_labels,
    load_train_config,
    read_examples_jsonl,
)
from drehr.training.strategy import build_strategy
from foundation.errors import UserInputError

CONFIGS = sorted((Path(__file__).parents[2] / "configs" / "retriever").glob("*.yaml"))


def test_concept_labels_merge_same_string_and_same_label():
    examples = [
        TrainExample("c1", ("Heart Failure", "CHF"), (7, 7)),  # CHF and heart failure are one concept
        TrainExample("c2", ("heart  failure", "fever")),  # same string as c1's, no labels
        TrainExample("c3", ("congestive heart failure", "cough"), (7, 9)),  # label 7 again
    ]
    ids = concept_labels(examples)
    assert ids[0][0] == ids[0][1] == ids[1][0] == ids[2][0]
    assert len({ids[1][1], ids[2][1], ids[0][0]}) == 3


def test_sampling_fixed_count_repeats_and_changes_by_epoch():
    ds = PositiveSamplingDataset([TrainExample("a", ("x", "y")), TrainExample("b", tuple("pqrstuvw"))], 5, seed=1)
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


def test_read_examples_jsonl(tmp_path):
    good = tmp_path / "d.jsonl"
    good.write_text('{"anchor": "chunk one", "positives": ["a", "b"], "labels": [1, 2]}\n\n'
                    '{"anchor": "chunk two", "positives": ["c"]}\n')
    examples = read_examples_jsonl(good)
    assert examples[0].labels == (1, 2) and examples[1].labels is None and examples[1].positives == ("c",)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"anchor": "x", "positives": ["a"]}\n{"anchor": "y"}\n')
    with pytest.raises(UserInputError, match=r"bad.jsonl:2"):
        read_examples_jsonl(bad)
    mismatched = tmp_path / "m.jsonl"
    mismatched.write_text('{"anchor": "x", "positives": ["a", "b"], "labels": [1]}\n')
    with pytest.raises(UserInputError, match="1 labels for 2 positives"):
        read_examples_jsonl(mismatched)


def test_collate_builds_owner_and_labels(tmp_path):
    from drehr.model import BiEncoder
    from drehr.model.testing import build_tiny_bert
    from drehr.training import Collator

    model = BiEncoder.from_pretrained(build_tiny_bert(tmp_path / "m"), pooling="cls")
    collate = Collator(model, "passage", anchor_max_length=6, positive_max_length=4)
    batch = collate([("heart failure with fever and cough", ["fever", "cough"], [3, 4]), ("sepsis", ["sepsis", "a b c"], [5, 5])])
    assert batch["owner"].tolist() == [0, 0, 1, 1] and batch["labels"].tolist() == [3, 4, 5, 5]
    assert batch["anchor"]["input_ids"].shape == (2, 6) and batch["positive"]["input_ids"].shape[0] == 4
    assert collate.truncated == {"anchor": 1, "positive": 1}  # "a b c" is [CLS] a b c [SEP]: 5 > 4


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_config_file_loads(path):
    config = load_train_config(path)
    assert config.lr == 1e-4 and config.warmup_ratio == 0.1


def test_config_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("loss: {name: triplet}\nepochs: 0\n")
    with pytest.raises(UserInputError, match=r"is not a valid TrainConfig:\n  - loss: .*\n  - epochs: .*\(got 0\)"):
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
