"""ChunkIndex: building, exact and approximate search, per-patient search, persistence, bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from drehr.index import ChunkIndex, EncoderMismatchError, IndexConfig, count_chunks, encode_chunks, top_k
from foundation.errors import ArtifactError, UserInputError
from tests.helpers.toy_encoder import ToyEncoder


def _unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def corpus():
    rng = np.random.default_rng(0)
    vectors = _unit(rng, 300, 16)
    chunk_ids = [f"n{i // 10}_{i % 10}" for i in range(300)]
    patients = [f"p{i % 7}" for i in range(300)]  # interleaved: a patient's rows are not contiguous
    return chunk_ids, patients, vectors


def test_top_k_breaks_ties_by_lower_index():
    cols, vals = top_k(np.array([[0.5, 0.9, 0.5, 0.1, 0.9]]), 3)
    assert cols.tolist() == [[1, 4, 0]]
    assert vals.tolist() == [[pytest.approx(0.9), pytest.approx(0.9), pytest.approx(0.5)]]


def test_flat_search_matches_brute_force(corpus):
    ids, patients, vectors = corpus
    index = ChunkIndex(16, "enc", IndexConfig(kind="flat"))
    for start in range(0, 300, 64):  # streamed adds
        index.add(ids[start : start + 64], patients[start : start + 64], vectors[start : start + 64])
    q = vectors[[3, 150]] + 0.01
    hits = index.search(q, k=5)
    expected = np.argsort(-(q @ vectors.T), axis=1, kind="stable")[:, :5]
    assert hits.rows.tolist() == expected.tolist()
    assert hits.chunk_ids[0][0] == ids[3]


def test_single_patient_search_ranks_only_that_patients_chunks(corpus):
    ids, patients, vectors = corpus
    index = ChunkIndex(16, "enc", IndexConfig(kind="flat"))
    index.add(ids, patients, vectors)
    rows = index.rows_of_patient("p3")
    assert rows.tolist() == [i for i in range(300) if i % 7 == 3]
    q = vectors[10]  # row 10 belongs to p3
    hits = index.search_patient("p3", q)
    scores = vectors[rows] @ q
    assert hits.rows[0].tolist() == rows[np.argsort(-scores, kind="stable")].tolist()
    assert hits.chunk_ids[0][0] == ids[10]
    assert len(index.search_patient("p3", q, k=4).rows[0]) == 4
    with pytest.raises(UserInputError, match="p99"):
        index.search_patient("p99", q)


def test_search_restricted_to_patients_exact_and_selector_paths_agree(corpus):
    ids, patients, vectors = corpus
    q = vectors[[0, 1, 2]]
    results = []
    for exact_max in (10_000, 0):  # numpy scoring, then the FAISS id-selector path
        index = ChunkIndex(16, "enc", IndexConfig(kind="flat", exact_subset_max=exact_max))
        index.add(ids, patients, vectors)
        hits = index.search(q, k=6, patients=["p1", "p4"])
        assert all(patients[r] in ("p1", "p4") for r in hits.rows.ravel())
        results.append(hits.rows.tolist())
    allowed = np.array([i for i in range(300) if i % 7 in (1, 4)])
    expected = allowed[np.argsort(-(q @ vectors[allowed].T), axis=1, kind="stable")[:, :6]]
    assert results[0] == results[1] == expected.tolist()


@pytest.mark.parametrize(
    "config",
    [
        IndexConfig(kind="ivf", nlist=4, nprobe=4, train_size=100),
        IndexConfig(kind="hnsw", hnsw_m=8),
        IndexConfig(kind="auto", flat_max_size=100, nlist=4, nprobe=4, train_size=120),
    ],
)
def test_approximate_kinds_find_exact_neighbours(corpus, config):
    ids, patients, vectors = corpus
    index = ChunkIndex(16, "enc", config)
    for start in range(0, 300, 50):
        index.add(ids[start : start + 50], patients[start : start + 50], vectors[start : start + 50])
    index.finalize()
    assert index.kind == ("ivf" if config.kind == "auto" else config.kind)
    q = vectors[:20]
    hits = index.search(q, k=1)  # nprobe = nlist / HNSW on 300 points: exact
    assert hits.rows[:, 0].tolist() == list(range(20))
    # per-patient search reads vectors back exactly (IVF through its direct map)
    rows = index.rows_of_patient("p2")
    assert np.allclose(index.vectors(rows), vectors[rows], atol=1e-6)


def test_auto_small_corpus_is_flat(corpus):
    ids, patients, vectors = corpus
    index = ChunkIndex(16, "enc")
    index.add(ids, patients, vectors)
    index.finalize()
    assert index.kind == "flat"


def test_save_load_roundtrip(tmp_path, corpus):
    ids, patients, vectors = corpus
    index = ChunkIndex(16, "enc", IndexConfig(kind="ivf", nlist=4, nprobe=2, train_size=100))
    index.add(ids, patients, vectors)
    before = index.search(vectors[:5], k=5)
    index.save(tmp_path / "idx")
    loaded = ChunkIndex.load(tmp_path / "idx")
    after = loaded.search(vectors[:5], k=5)
    assert after.rows.tolist() == before.rows.tolist()
    assert loaded.patient_ids == patients and loaded.chunk_ids == ids
    assert loaded.search_patient("p0", vectors[0]).chunk_ids[0][0] == ids[0]
    assert ChunkIndex.load(tmp_path / "idx", nprobe=4).config.nprobe == 4


def test_load_rejects_non_index_folder(tmp_path):
    with pytest.raises(ArtifactError, match="not a saved"):
        ChunkIndex.load(tmp_path)


def test_build_from_encoder_and_text_search_with_encoder_check(tmp_path):
    encoder = ToyEncoder(256)
    chunks = pl.DataFrame(
        {
            "chunk_id": ["a_0", "a_1", "b_0", "b_1", "c_0"],
            "patient_id": ["a", "a", "b", "b", "c"],
            "text": [
                "heart failure with reduced ejection",
                "knee pain",
                "atrial fibrillation on warfarin",
                "heart failure exacerbation",
                "  ",
            ],
        }
    )
    index = ChunkIndex.for_encoder(encoder, IndexConfig(kind="flat"))
    index.build_from_encoder(encoder, chunks, batch_size=2, work_dir=tmp_path / "work", shard_size=2)
    assert len(index) == 4  # the empty chunk is skipped
    assert set(index.search(["heart failure"], k=2, encoder=encoder).chunk_ids[0]) == {"a_0", "b_1"}
    assert index.search_patient("b", "warfarin", encoder=encoder).chunk_ids[0][0] == "b_0"
    # resumable: a second build reuses the saved shards and does not call the encoder
    calls = encoder.calls
    again = ChunkIndex.for_encoder(encoder, IndexConfig(kind="flat"))
    again.build_from_encoder(encoder, chunks, work_dir=tmp_path / "work", shard_size=2)
    assert encoder.calls == calls and again.chunk_ids == index.chunk_ids
    with pytest.raises(EncoderMismatchError, match="fingerprint|built by encoder"):
        index.search(["heart failure"], encoder=ToyEncoder(256, fingerprint="other"))
    with pytest.raises(EncoderMismatchError, match="dimension"):
        index.search(["heart failure"], encoder=ToyEncoder(16))
    with pytest.raises(EncoderMismatchError, match=r"\[n, 256\]"):
        index.search(np.ones((1, 8), np.float32))


def test_encode_chunks_yields_shards_and_needs_no_index(tmp_path):
    encoder = ToyEncoder(32)
    chunks = [
        {"chunk_id": f"x_{i}", "patient_id": "x", "text": "" if i == 2 else f"fever day {i}"}
        for i in range(5)
    ]
    assert count_chunks(chunks) == 5 and count_chunks(iter(chunks)) is None
    shards = list(encode_chunks(encoder, chunks, shard_size=2, work_dir=tmp_path / "w"))
    assert [s.chunks["chunk_id"].to_list() for s in shards] == [["x_0", "x_1"], ["x_3"], ["x_4"]]  # x_2 blank
    assert all(s.vectors.shape == (s.chunks.height, 32) for s in shards)
    assert np.allclose(shards[1].vectors, encoder.encode(["fever day 3"]))
    assert len(list((tmp_path / "w").glob("shard-*.npy"))) == 3


def test_bad_adds_are_refused(corpus):
    ids, patients, vectors = corpus
    index = ChunkIndex(16, "enc", IndexConfig(kind="flat"))
    with pytest.raises(UserInputError, match="shape"):
        index.add(ids[:3], patients[:3], vectors[:2])
    index.add(ids[:3], patients[:3], vectors[:3])
    with pytest.raises(UserInputError, match="added twice"):
        index.add(ids[:1], patients[:1], vectors[:1])
    with pytest.raises(UserInputError, match="NaN"):
        index.add(["x"], ["p"], np.full((1, 16), np.nan, np.float32))
    with pytest.raises(UserInputError, match="needs at least"):
        tiny = ChunkIndex(16, "enc", IndexConfig(kind="ivf", nlist=64))
        tiny.add(ids[:10], patients[:10], vectors[:10])
        tiny.finalize()


@pytest.mark.gpu
def test_gpu_search_matches_cpu(corpus):
    from drehr.index.faiss_backend import gpu_available

    if not gpu_available():
        pytest.skip("faiss has no GPU support here (install faiss-gpu-cu12)")
    ids, patients, vectors = corpus
    cpu = ChunkIndex(16, "enc", IndexConfig(kind="flat", use_gpu=False))
    gpu = ChunkIndex(16, "enc", IndexConfig(kind="flat", use_gpu=True))
    for index in (cpu, gpu):
        index.add(ids, patients, vectors)
    assert gpu.search(vectors[:10], k=5).rows.tolist() == cpu.search(vectors[:10], k=5).rows.tolist()
