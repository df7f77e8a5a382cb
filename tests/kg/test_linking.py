from __future__ import annotations

import numpy as np
import pytest

from foundation.errors import ArtifactError, UserInputError
from kg.linking import EntityLinker, cached_linker, check_embeddings


def test_exact_and_synonym_matches_score_one(tiny_kg, bag_encoder):
    linker = EntityLinker(tiny_kg, bag_encoder)
    recs = linker.link(["Hypokalemia", "  LOW potassium ", "ckd"])
    assert [(r["node_id"], r["score"]) for r in recs] == [("E87.6", 1.0), ("E87.6", 1.0), ("N18.9", 1.0)]
    assert recs[0] == {"mention": "Hypokalemia", "node_id": "E87.6", "node_name": "Hypokalemia", "score": 1.0}
    assert linker.index is None  # exact matches never need the dense index


def test_ambiguous_surface_prefers_name_then_type_order(tiny_kg, bag_encoder):
    # "htn" is a synonym of both HP:0000822 and I10; "hypertension" is HP:0000822's name.
    assert EntityLinker(tiny_kg, bag_encoder).link(["hypertension"])[0]["node_id"] == "HP:0000822"
    assert EntityLinker(tiny_kg, bag_encoder, types="disease,phenotype").link(["HTN"])[0]["node_id"] == "I10"
    assert (
        EntityLinker(tiny_kg, bag_encoder, types="phenotype,disease").link(["HTN"])[0]["node_id"]
        == "HP:0000822"
    )


def test_dense_threshold_and_type_filter(tiny_kg, bag_encoder):
    linker = EntityLinker(tiny_kg, bag_encoder, threshold=0.7)
    hit, miss = linker.link(["chronic kidney disease stage", "banana"])
    # bag-of-words: 3 of 4 words shared with "chronic kidney disease" -> cosine ~ 3/sqrt(12) = 0.87
    assert hit["node_id"] == "N18.9" and 0.7 < hit["score"] < 1.0
    assert miss["node_id"] is None and miss["node_name"] is None and miss["score"] < 0.7
    strict = EntityLinker(tiny_kg, bag_encoder, threshold=0.95)
    assert strict.link(["chronic kidney disease stage"])[0]["node_id"] is None
    drugs = EntityLinker(tiny_kg, bag_encoder, types=["drug"])
    assert drugs.link(["Hypokalemia"])[0]["node_id"] != "E87.6"
    with pytest.raises(UserInputError, match="unknown node type"):
        EntityLinker(tiny_kg, bag_encoder, types="planet")


def test_link_counts(tiny_kg, bag_encoder):
    counts = EntityLinker(tiny_kg, bag_encoder).link_counts(["CKD", "ckd", "hypokalemia", "banana"])
    assert counts == {"N18.9": 2, "E87.6": 1}


def test_save_load_and_dimension_check(tiny_kg, bag_encoder, make_bag_encoder, tmp_path):
    linker = EntityLinker(tiny_kg, bag_encoder, threshold=0.6, types="disease")
    linker.save(tmp_path / "lk")
    back = EntityLinker.load(tmp_path / "lk", bag_encoder)
    assert back.threshold == 0.6 and back.types == ("disease",)
    q = ["chronic kidney disease stage", "hypokalemia", "hypertension"]
    assert back.link(q) == linker.link(q)
    with pytest.raises(ArtifactError, match="64-d vectors but the encoder gives 32-d"):
        EntityLinker.load(tmp_path / "lk", make_bag_encoder(32))


def test_cached_linker_saves_index_once_built(tiny_kg, bag_encoder, tmp_path):
    first = cached_linker(tiny_kg, bag_encoder, tmp_path, "bag64", types="disease")
    assert not list(tmp_path.glob("linker_*"))  # nothing embedded yet
    first.link(["chronic kidney disease stage"])
    saved = list(tmp_path.glob("linker_*/config.json"))
    assert len(saved) == 1
    again = cached_linker(tiny_kg, bag_encoder, tmp_path, "bag64", types="disease")
    assert again.index is not None and again.index.ntotal == first.index.ntotal


def test_encoder_output_is_checked(tiny_kg, bag_encoder):
    with pytest.raises(UserInputError, match="float32"):
        check_embeddings(np.ones((1, 4), dtype=np.float64) / 2, 1)
    with pytest.raises(UserInputError, match="L2-normalized"):
        check_embeddings(np.ones((1, 4), dtype=np.float32), 1)
    with pytest.raises(UserInputError, match="list of mentions"):
        EntityLinker(tiny_kg, bag_encoder).link("HTN")


def test_encode_sends_texts_sorted_by_length_and_returns_them_in_input_order():
    from kg.linking import _encode

    calls: list[list[str]] = []

    def encoder(batch: list[str]) -> np.ndarray:
        calls.append(batch)
        v = np.array([[len(t), 1.0] for t in batch], dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    texts = ["a", "ccc", "bb", "dddd", "e", "ffffff"]
    out = _encode(encoder, texts, 2, "test")
    assert calls == [["ffffff", "dddd"], ["ccc", "bb"], ["a", "e"]]  # longest first: little padding
    expected = np.array([[len(t), 1.0] for t in texts], dtype=np.float32)
    np.testing.assert_allclose(out, expected / np.linalg.norm(expected, axis=1, keepdims=True))
    assert _encode(encoder, [], 2, "test").shape == (0, 1)
