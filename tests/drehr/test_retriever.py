"""drehr.Retriever: build, search (corpus, some patients, one patient), save/load as one folder, the
folder's ownership and damage checks. The `retriever index` / `search` commands over it are tested with
the other command-line tests (test_retriever_eval_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from drehr import Retriever
from drehr.index import EncoderMismatchError, IndexConfig
from drehr.retriever import HIT_COLUMNS
from foundation.errors import ArtifactError, UserInputError
from tests.helpers.retrieval import CHUNKS
from tests.helpers.toy_encoder import ToyEncoder


@pytest.fixture
def tiny_encoder(tiny_bert_dir):
    """A real BiEncoder on the session's tiny random BERT: saves and loads in a second."""
    from drehr import BiEncoder

    return BiEncoder.from_pretrained(tiny_bert_dir)


def test_build_and_search_corpus_some_patients_one_patient():
    retriever = Retriever.build(ToyEncoder(256), CHUNKS, IndexConfig(kind="flat"), batch_size=2)
    assert len(retriever) == 6  # c_1 has blank text: skipped
    assert retriever.chunks["chunk_id"].to_list() == retriever.index.chunk_ids

    corpus = retriever.search("heart failure", k=2)
    assert tuple(corpus.columns) == HIT_COLUMNS
    assert set(corpus["chunk_id"]) == {"a_0", "b_1"} and corpus["rank"].to_list() == [1, 2]
    assert corpus.filter(pl.col("chunk_id") == "b_1")["text"].item() == "acute heart failure exacerbation"

    one = retriever.search("heart failure", patients="b")  # k=10 > 2 chunks: all of b's, ranked
    assert one["patient_id"].to_list() == ["b", "b"] and one["chunk_id"].to_list() == ["b_1", "b_0"]
    assert one["score"].to_list() == sorted(one["score"].to_list(), reverse=True)

    some = retriever.search(["warfarin", "kidney disease"], patients=["a", "c"], k=3)
    assert set(some["patient_id"]) <= {"a", "c"}
    assert some.group_by("query").len().sort("query")["len"].to_list() == [3, 3]
    assert (
        some.filter((pl.col("query") == "kidney disease") & (pl.col("rank") == 1))["chunk_id"].item() == "a_2"
    )


def test_search_refuses_bad_input():
    retriever = Retriever.build(ToyEncoder(64), CHUNKS)
    with pytest.raises(UserInputError, match="'p99'"):
        retriever.search("fever", patients="p99")
    with pytest.raises(UserInputError, match="k must be"):
        retriever.search("fever", k=0)
    with pytest.raises(UserInputError, match="no query"):
        retriever.search([])
    with pytest.raises(UserInputError, match=r"patients=\[\]"):
        retriever.search("fever", patients=[])
    with pytest.raises(UserInputError, match="no chunk to index"):
        Retriever.build(ToyEncoder(64), CHUNKS.filter(pl.col("chunk_id") == "c_1"))


def test_build_from_lazy_frame_resumes_from_work_dir(tmp_path):
    encoder = ToyEncoder(128)
    first = Retriever.build(encoder, CHUNKS.lazy(), work_dir=tmp_path / "work", shard_size=3)
    calls = encoder.calls
    again = Retriever.build(encoder, CHUNKS.lazy(), work_dir=tmp_path / "work", shard_size=3)
    assert encoder.calls == calls  # every shard read back, none encoded
    assert again.search("sepsis").equals(first.search("sepsis"))


def test_the_index_answers_only_to_its_encoder():
    retriever = Retriever.build(ToyEncoder(64), CHUNKS)
    with pytest.raises(EncoderMismatchError, match="built by encoder"):
        Retriever(ToyEncoder(64, fingerprint="other"), retriever.index, retriever.chunks)
    with pytest.raises(UserInputError, match="row order"):
        Retriever(retriever.encoder, retriever.index, retriever.chunks.reverse())
    with pytest.raises(UserInputError, match="save_pretrained"):  # a test stand-in searches but cannot save
        retriever.save(Path("never-written"))


def test_save_load_round_trip_gives_identical_results(tmp_path, tiny_encoder):
    retriever = Retriever.build(tiny_encoder, CHUNKS)
    queries = ["heart failure", "kidney"]
    before = [
        retriever.search(queries),
        retriever.search(queries, patients="a", k=2),
        retriever.search(queries, patients=["b", "c"]),
    ]
    retriever.save(tmp_path / "r")
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "chunks.parquet",
        "config.json",
        "emerge_manifest.json",
        "encoder",
        "index",
    ]
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["kind"] == "drehr_retriever" and config["format_version"] == 1
    assert config["encoder_fingerprint"] == tiny_encoder.fingerprint and config["n_chunks"] == 6

    loaded = Retriever.load(tmp_path / "r")
    assert loaded.encoder.fingerprint == loaded.index.encoder_fingerprint == tiny_encoder.fingerprint
    after = [
        loaded.search(queries),
        loaded.search(queries, patients="a", k=2),
        loaded.search(queries, patients=["b", "c"]),
    ]
    for old, new in zip(before, after, strict=True):
        assert new.equals(old)
    loaded.save(tmp_path / "r")  # our own folder is replaced
    assert Retriever.load(tmp_path / "r").search(queries).equals(before[0])


def test_encoder_subfolder_loads_in_sentence_transformers(tmp_path):
    from sentence_transformers import SentenceTransformer

    from drehr import BiEncoder

    five = CHUNKS.head(5)
    retriever = Retriever.build(BiEncoder.from_pretrained("default"), five)
    before = retriever.search("cardiac failure", k=3)
    assert before["chunk_id"][0] in ("a_0", "b_1")
    retriever.save(tmp_path / "r")  # re-hashes the weights it writes: the index follows the new fingerprint
    st = SentenceTransformer(str(tmp_path / "r" / "encoder"), device="cpu")
    expected = retriever.encoder.encode(five["text"].to_list())
    assert np.allclose(st.encode(five["text"].to_list(), normalize_embeddings=True), expected, atol=1e-5)
    assert Retriever.load(tmp_path / "r").search("cardiac failure", k=3).equals(before)


def test_a_users_folder_is_refused_and_kept(tmp_path, tiny_encoder):
    retriever = Retriever.build(tiny_encoder, CHUNKS)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("do not delete")
    with pytest.raises(UserInputError, match="not written by emerge"):
        retriever.save(mine)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    with pytest.raises(UserInputError, match="not found"):
        Retriever.load(tmp_path / "absent")
    with pytest.raises(ArtifactError, match="drehr_retriever"):
        Retriever.load(mine)


def test_a_damaged_folder_is_named_on_load(tmp_path, tiny_encoder):
    Retriever.build(tiny_encoder, CHUNKS).save(tmp_path / "r")
    (tmp_path / "r" / "chunks.parquet").write_bytes(b"not a parquet file")
    with pytest.raises(ArtifactError, match=r"chunks\.parquet"):
        Retriever.load(tmp_path / "r")


def test_load_checks_the_index_was_built_by_the_saved_encoder(tmp_path, tiny_encoder):
    Retriever.build(tiny_encoder, CHUNKS).save(tmp_path / "r")
    for manifest in (tmp_path / "r").rglob("emerge_manifest.json"):  # a folder edited by hand, no manifests
        manifest.unlink()
    index_config = tmp_path / "r" / "index" / "config.json"
    body = json.loads(index_config.read_text())
    index_config.write_text(json.dumps({**body, "encoder_fingerprint": "someone-else"}))
    with pytest.raises(ArtifactError, match="not built by the encoder"):
        Retriever.load(tmp_path / "r")
