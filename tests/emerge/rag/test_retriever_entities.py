"""Patient concepts by retrieval (`entity_mode: retriever`), evidence columns in every mode, and qualifier
terms ("acute", "right") kept out of the disease entities of every mode."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from drehr.chunking import Chunk
from emerge.data.build import build_dataset
from emerge.data.config import BuildConfig
from emerge.data.dataset import EHRDataset
from emerge.data.synth import generate
from emerge.llm.base import SamplingConfig
from emerge.llm.cache import LLMCache
from emerge.rag.concept_index import concept_side
from emerge.rag.retriever_entities import CALIBRATED, ConceptRetriever, note_phrases, stay_chunks
from emerge.rag.stage import ENTITY_SCHEMA, RagSettings, run_entities, run_linking
from foundation.errors import UserInputError
from foundation.outputs import read_manifest
from kg.matching import TermMatcher
from tests.helpers.fakes import FakeBackend
from tests.helpers.kg import QUALIFIER_IDS, qualifier_kg
from tests.helpers.toy_encoder import ToyEncoder

QUALIFIER_WORDS = {"acute", "chronic", "right", "left", "position", "all"}


@pytest.fixture(scope="module")
def minilm():
    from drehr.model import load_sentence_encoder

    return load_sentence_encoder("default", device="cpu")


@pytest.fixture(scope="module")
def graph():
    return qualifier_kg()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("retriever")
    generate(root / "synth", stays=40, seed=3)
    return EHRDataset(build_dataset(root / "synth", root / "data", BuildConfig(version="iv")))


def _chunk(note: str, text: str) -> Chunk:
    return Chunk(f"{note}_0", note, "", 0, text)


NOTES = {
    1: [
        _chunk("n1", "The patient has longstanding elevated blood pressure treated with lisinopril at home.")
    ],
    2: [_chunk("n2", "Pulse persistently above 120 beats per minute overnight.")],
    3: [_chunk("n3", "Evaluate for acute process. Right side position.")],
    4: [],
    5: [_chunk("n5", "Admitted with cardiac failure and a rapid heart rate; pyrexia on day two.")],
}


def test_phrases_find_concepts_the_matcher_cannot(minilm, graph, tmp_path):
    assert not TermMatcher(graph).terms(NOTES[5][0].text.lower())
    hits = ConceptRetriever(graph, minilm, tmp_path, threshold=0.8).retrieve(NOTES)
    assert set(hits) == set(NOTES) and hits[4] == []
    found = {h.node_id: h for h in hits[5]}
    assert set(found) == {"I50.9", "HP:0001649"}  # Heart failure, Tachycardia
    assert found["I50.9"].mention == "cardiac failure" and found["HP:0001649"].mention == "rapid heart rate"
    assert found["I50.9"].chunk_id == "n5_0" and found["I50.9"].chunk_text == NOTES[5][0].text
    assert found["I50.9"].chunks == 1 and found["I50.9"].score >= 0.8


def test_chunk_unit_embeds_the_whole_chunk_as_dr_ehr_does(minilm, graph, tmp_path):
    hits = ConceptRetriever(graph, minilm, tmp_path, unit="chunk", threshold=0.42, top_k=2).retrieve(NOTES)
    assert [h.node_id for h in hits[1]][:1] == ["I10"]  # "Hypertension", nearest form "high blood pressure"
    assert hits[2][0].node_id == "HP:0001649" and hits[2][0].mention == "fast heart rate"  # Tachycardia
    assert all(h.score >= 0.42 for hs in hits.values() for h in hs)
    assert not {h.node_id for hs in hits.values() for h in hs} & QUALIFIER_IDS  # "acute", "right" never


@pytest.mark.parametrize("unit", ["phrase", "chunk"])
def test_threshold_and_top_k_are_respected(minilm, graph, tmp_path, unit):
    strict = ConceptRetriever(graph, minilm, tmp_path, unit=unit, threshold=0.99).retrieve(NOTES)
    assert all(hits == [] for hits in strict.values())
    loose = ConceptRetriever(graph, minilm, tmp_path, unit=unit, threshold=-1.0, top_k=3).retrieve(NOTES)
    if unit == "chunk":
        assert all(len(hits) == 3 for stay, hits in loose.items() if stay != 4)
    assert not {h.node_id for hs in loose.values() for h in hs} & QUALIFIER_IDS
    assert RagSettings(entity_mode="retriever").concept_threshold is None  # None: CALIBRATED[unit]
    assert ConceptRetriever(graph, minilm, tmp_path, unit=unit).threshold == CALIBRATED[unit][0]


def test_concept_index_is_built_once_and_reused(graph, tmp_path, monkeypatch):
    import drehr.index.faiss_backend as backend

    class Counting(ToyEncoder):
        surfaces = 0

        def encode_queries(self, texts, batch_size=64, show_progress_bar=False):
            Counting.surfaces += len(texts)
            return super().encode_queries(texts, batch_size, show_progress_bar)

    built = []
    make = backend.make_faiss_index
    monkeypatch.setattr(backend, "make_faiss_index", lambda *a, **k: built.append(a) or make(*a, **k))
    ConceptRetriever(graph, Counting(), tmp_path / "cache", threshold=0.0).retrieve(NOTES)
    embedded = Counting.surfaces
    assert embedded >= len(graph) and len(built) == 1  # every surface form embedded once, one HNSW built
    kinds = {read_manifest(f).kind for f in (tmp_path / "cache").iterdir()}
    assert kinds == {"entity_linker", "concept_index"}
    ConceptRetriever(graph, Counting(), tmp_path / "cache", threshold=0.0).retrieve(NOTES)
    assert Counting.surfaces - embedded == 1 and len(built) == 1  # loaded: only the dimension probe


def test_concept_side_shares_the_linker_vectors_only_when_both_sides_embed_alike(minilm):
    _, name = concept_side(minilm)
    assert name == minilm.fingerprint  # MiniLM: no query instruction, one max length
    _, name = concept_side(ToyEncoder())
    assert name == "toy-hash-64:query"


def test_bfloat16_surface_forms_are_cached_apart_and_close_to_float32(minilm, monkeypatch):
    import emerge.llm.gguf as gguf
    from emerge.rag.concept_index import concept_dtype

    forms = ["essential hypertension", "type 2 diabetes mellitus", "CHF", "acute kidney injury", "sepsis"]
    embed32, name32 = concept_side(minilm, "float32")
    embed16, name16 = concept_side(minilm, "bfloat16")
    assert name16 == f"{name32}:bf16"
    a, b = embed32(forms), embed16(forms)
    assert a.dtype == b.dtype == np.float32 and not np.array_equal(a, b)  # really computed in bfloat16
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    assert ((a * b).sum(1) > 0.999).all()  # the threshold (0.83) sits on a 0.01 grid
    monkeypatch.setattr(gguf, "cpu_has_native_bf16", lambda: False)
    assert concept_dtype("auto") == "float32" and concept_dtype("auto", "cuda:0") == "bfloat16"
    monkeypatch.setattr(gguf, "cpu_has_native_bf16", lambda: True)
    assert concept_dtype("auto") == "bfloat16" and concept_dtype("float32") == "float32"


def test_note_phrases_split_at_punctuation_and_function_words():
    text = "History of HTN and T2DM, now with anemia. Lines and tubes are in standard position."
    assert note_phrases(text) == ["History", "HTN", "T2DM", "anemia", "Lines", "tubes", "standard position"]
    assert note_phrases(" ".join(f"w{i}" for i in range(11))) == [
        " ".join(f"w{i}" for i in range(0, 8)),
        " ".join(f"w{i}" for i in range(4, 11)),
    ]


def test_stay_chunks_keep_short_notes_and_number_them():
    chunks = stay_chunks([("a", "Sepsis."), ("b", " ".join(["word"] * 150))])
    assert [c.chunk_id for c in chunks] == ["a_0", "b_0", "b_1"]


def test_retriever_mode_end_to_end_with_evidence_and_pass_through_linking(dataset, graph, minilm, tmp_path):
    settings = RagSettings(entity_mode="retriever", concept_threshold=0.6, dense_linking=False)
    ent = run_entities(
        dataset, tmp_path / "rag", settings, kg=graph, encoder=minilm, cache_root=tmp_path / "c"
    )
    assert ent.columns == list(ENTITY_SCHEMA)
    notes = ent.filter(pl.col("source") == "notes")
    assert notes.height > 0 and notes["node_id"].is_not_null().all()
    assert (notes["evidence_score"] >= 0.6).all() and notes["evidence"].is_not_null().all()
    for phrase, evidence in notes.select("phrase", "evidence").iter_rows():
        assert phrase in evidence  # the note's phrase that matched, inside its evidence chunk
    assert not set(notes["node_id"].to_list()) & QUALIFIER_IDS
    note_ids = dict(dataset.notes.select("stay_id", "note_id").iter_rows())
    note_of = {n: s for s, n in dataset.notes.select("stay_id", "note_id").iter_rows()}
    assert note_ids and all(
        note_of[e.rsplit("_", 1)[0]] == s for s, e in notes.select("stay_id", "evidence_id").iter_rows()
    )
    assert read_manifest(tmp_path / "rag" / "entities").info["encoder"] == minilm.fingerprint

    zero = lambda t: np.zeros((len(t), 4), np.float32)  # noqa: E731 - exact-only linking never encodes
    linked = run_linking(tmp_path / "rag", graph, zero, "none", settings, cache_root=tmp_path / "c")
    passed = linked.filter(pl.col("source") == "notes")
    assert passed["node_id"].to_list() == notes["node_id"].to_list() and (passed["score"] == 1.0).all()
    assert passed["node_name"].to_list() == [graph.name(n) for n in notes["node_id"].to_list()]


def _reply(text, sampling):
    return '```json\n{"entities": ["acute", "Right", "sepsis", "position"]}\n```'


@pytest.mark.parametrize("mode", ["matcher", "llm", "union"])
def test_qualifier_terms_are_never_disease_entities(dataset, graph, tmp_path, mode):
    assert any("acute" in t.lower() for t in dataset.notes["text"].to_list())  # "Evaluate for acute process."
    settings = RagSettings(entity_mode=mode)
    with LLMCache(tmp_path / "cache.sqlite") as cache:
        ent = run_entities(
            dataset,
            tmp_path / "rag",
            settings,
            kg=graph,
            backend=FakeBackend(reply=_reply),
            cache=cache,
            sampling=SamplingConfig(max_new_tokens=32),
        )
    notes = ent.filter(pl.col("source") == "notes")
    assert notes.height > 0 and not {e.lower() for e in notes["entity"].to_list()} & QUALIFIER_WORDS
    # literal mentions: their evidence is the first chunk holding them, with no similarity score
    assert notes["evidence_id"].is_not_null().all() and notes["evidence_score"].is_null().all()
    assert notes["node_id"].is_null().all()
    for entity, evidence in notes.select("entity", "evidence").iter_rows():
        assert entity.lower() in evidence.lower()


def test_linking_never_lands_on_a_qualifier(dataset, graph, tmp_path):
    out = tmp_path / "rag"
    settings = RagSettings(entity_mode="matcher", dense_linking=True, link_threshold=0.0)
    run_entities(dataset, out, settings, kg=graph)
    linked = run_linking(out, graph, ToyEncoder().encode, "toy", settings, cache_root=tmp_path / "c")
    assert not set(linked["node_id"].drop_nulls().to_list()) & QUALIFIER_IDS


def test_bad_input_is_a_clear_error(dataset, graph, minilm, tmp_path):
    retriever = RagSettings(entity_mode="retriever")
    with pytest.raises(UserInputError, match="needs a knowledge graph"):
        run_entities(dataset, tmp_path / "a", retriever, kg=None, encoder=minilm)
    with pytest.raises(UserInputError, match="needs a sentence encoder"):
        run_entities(dataset, tmp_path / "b", retriever, kg=graph)
    with pytest.raises(ValueError, match="retriever"):  # pydantic lists the valid modes
        RagSettings(entity_mode="bogus")
    with pytest.raises(UserInputError, match="concept threshold"):
        ConceptRetriever(graph, minilm, tmp_path, threshold=2.0)
    with pytest.raises(UserInputError, match="valid: phrase, chunk"):
        ConceptRetriever(graph, minilm, tmp_path, unit="sentence")


def test_run_rag_passes_the_encoder_to_retriever_mode(dataset, graph, minilm, tmp_path, monkeypatch):
    """The experiment's path (`emerge.experiment.stages.rag_stage` -> `run_rag`): the linker encoder
    retrieves the note concepts too, and their nodes reach the summary prompts."""
    from emerge.rag.session import run_rag

    monkeypatch.setenv("EMERGE_CACHE", str(tmp_path / "cache"))
    settings = RagSettings(entity_mode="retriever", concept_threshold=0.6, max_new_tokens=16)
    backend = FakeBackend(reply=lambda text, sampling: "summary")
    summaries = run_rag(dataset, tmp_path / "rag", graph, None, settings, minilm, backend=backend)
    assert set(summaries) == set(dataset.stay_id.tolist())
    assert not any("Named Entity Recognition" in c for c in backend.calls)  # no LLM NER in this mode
    linked = pl.read_parquet(tmp_path / "rag" / "linked" / "linked.parquet")
    assert linked.filter(pl.col("source") == "notes")["node_id"].is_not_null().all()
    assert {p.name.split("_")[0] for p in (tmp_path / "cache" / "linkers").iterdir()} == {
        "linker",
        "concepts",
    }


def test_retriever_evidence_is_quoted_in_the_summary_prompt_with_provenance(
    dataset, graph, minilm, tmp_path, monkeypatch
):
    from emerge.rag.session import run_rag

    monkeypatch.setenv("EMERGE_CACHE", str(tmp_path / "cache"))
    settings = RagSettings(entity_mode="retriever", concept_threshold=0.6, max_new_tokens=16)
    run_rag(
        dataset, tmp_path / "rag", graph, None, settings, minilm, backend=FakeBackend(reply=lambda t, s: "x")
    )
    frame = pl.read_parquet(next((tmp_path / "rag").glob("summaries*/*.parquet")))
    linked = pl.read_parquet(tmp_path / "rag" / "linked" / "linked.parquet")
    quoted = 0
    for row in frame.iter_rows(named=True):
        evidence = json.loads(row["evidence"])
        assert all(e["node_id"] in row["nodes"] for e in evidence)
        per_node = {}
        for e in evidence:
            per_node[e["node_id"]] = per_node.get(e["node_id"], 0) + 1
        assert all(n <= settings.evidence_per_concept for n in per_node.values())
        if evidence:
            quoted += 1
            assert "Evidence from the patient's notes:" in row["prompt"]
            best = linked.filter(
                (pl.col("stay_id") == row["stay_id"]) & (pl.col("node_id") == evidence[0]["node_id"])
            )["evidence_score"].max()
            assert evidence[0]["score"] == pytest.approx(best)  # the best-scoring chunk comes first
        else:
            assert "Evidence from the patient's notes" not in row["prompt"]
    assert quoted > 0
    none = settings.model_copy(update={"evidence_per_concept": 0})
    run_rag(
        dataset, tmp_path / "rag0", graph, None, none, minilm, backend=FakeBackend(reply=lambda t, s: "x")
    )
    frame0 = pl.read_parquet(next((tmp_path / "rag0").glob("summaries*/*.parquet")))
    assert not frame0["prompt"].str.contains("Evidence from the patient's notes").any()


def test_snippet_is_a_window_around_the_phrase():
    from emerge.rag.stage import snippet

    chunk = (
        " ".join(f"w{i}" for i in range(50)) + " acute kidney injury " + " ".join(f"v{i}" for i in range(50))
    )
    text = snippet(chunk, "Acute kidney injury", words=3)
    assert text == "w47 w48 w49 acute kidney injury v0 v1 v2"
    assert snippet("a b c d e f g", "zzz", words=2) == "a b c d"
