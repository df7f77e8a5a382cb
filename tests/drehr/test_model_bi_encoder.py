"""BiEncoder on the session's tiny BERT and once on the bundled MiniLM."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from drehr.model import BiEncoder
from drehr.model.testing import build_tiny_bert
from foundation.errors import UserInputError

TEXTS = [
    "heart failure",
    "chronic kidney disease with anemia and high blood pressure",
    "fever",
    "patient has a history of copd and asthma",
    "sepsis",
]


@pytest.fixture()
def tiny(tiny_bert_dir):
    return BiEncoder.from_pretrained(tiny_bert_dir, pooling="mean", passage_max_length=64, query_max_length=8)


def test_encode_shape_norm_and_order(tiny):
    emb = tiny.encode(TEXTS, batch_size=2)
    assert emb.shape == (5, tiny.dimension) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    one_by_one = np.vstack([tiny.encode([t]) for t in TEXTS])  # no padding at all
    np.testing.assert_allclose(emb, one_by_one, atol=1e-5)


def test_forward_has_gradients(tiny):
    tok = tiny.tokenize(TEXTS[:2], "passage")
    out = tiny(tiny.pad(tok.input_ids))
    out.sum().backward()
    assert out.shape == (2, tiny.dimension)
    assert tiny.backbone.embeddings.word_embeddings.weight.grad is not None


def test_query_instruction_and_query_length(tiny_bert_dir):
    model = BiEncoder.from_pretrained(
        tiny_bert_dir, pooling="cls", query_instruction="patient has ", query_max_length=8
    )
    np.testing.assert_allclose(
        model.encode_queries(["fever"]), model.encode(["patient has fever"]), atol=1e-6
    )
    # 8 tokens: [CLS] + 6 words + [SEP]; the query side cuts what the passage side keeps
    long = "heart failure chest pain kidney liver disease acute chronic fever"
    assert model.tokenize([long], "query").n_truncated == 1
    assert model.tokenize([long], "passage").n_truncated == 0


def test_truncation_is_counted_and_warned_once(tiny, caplog):
    long_text = " ".join(["fever"] * 100)
    with caplog.at_level(logging.WARNING, logger="drehr.model.bi_encoder"):
        tiny.encode([long_text, "fever", long_text])
    warnings = [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()]
    assert warnings == ["2 of 3 passage texts were longer than 64 tokens and were truncated"]


def test_bad_inputs_raise_clear_errors(tiny, tmp_path):
    with pytest.raises(UserInputError, match=r"positions \[1\]"):
        tiny.encode(["fever", "   "])
    with pytest.raises(UserInputError, match="one string"):
        tiny.encode("fever")
    assert tiny.encode([]).shape == (0, tiny.dimension)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UserInputError, match="not a model folder"):
        BiEncoder.from_pretrained(tmp_path)
    with pytest.raises(UserInputError, match="not a folder"):
        BiEncoder.from_pretrained(tmp_path / "missing")


def test_save_load_roundtrip_and_sentence_transformers(tiny, tmp_path):
    from sentence_transformers import SentenceTransformer

    expected = tiny.encode(TEXTS)
    tiny.save_pretrained(tmp_path / "saved")
    again = BiEncoder.from_pretrained(tmp_path / "saved")
    assert again.config == tiny.config and again.fingerprint == tiny.fingerprint
    np.testing.assert_allclose(again.encode(TEXTS), expected, atol=1e-6)
    st = SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    np.testing.assert_allclose(st.encode(TEXTS), expected, atol=1e-5)


def test_fingerprint_tracks_config_and_weights(tiny_bert_dir, tmp_path):
    a = BiEncoder.from_pretrained(tiny_bert_dir, pooling="mean")
    assert a.fingerprint == BiEncoder.from_pretrained(tiny_bert_dir, pooling="mean").fingerprint
    assert a.fingerprint != BiEncoder.from_pretrained(tiny_bert_dir, pooling="cls").fingerprint
    other = BiEncoder.from_pretrained(build_tiny_bert(tmp_path / "other", seed=1), pooling="mean")
    assert other.fingerprint != a.fingerprint


def test_save_refuses_foreign_folder(tiny, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(UserInputError, match="not written by emerge"):
        tiny.save_pretrained(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    tiny.save_pretrained(tmp_path / "m")
    tiny.save_pretrained(tmp_path / "m")  # our own model folder is replaced
    (tmp_path / "m" / "README.md").write_text("my model card")
    with pytest.raises(UserInputError, match=r"files emerge did not write \(README.md\)"):
        tiny.save_pretrained(tmp_path / "m")


def test_decoder_last_token_pooling_is_padding_side_aware(tiny_bert_dir, tmp_path):
    from transformers import AutoTokenizer, LlamaConfig, LlamaModel

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    folder = tmp_path / "llama"
    LlamaModel(config).save_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    tok.eos_token = "[SEP]"
    tok.save_pretrained(folder)
    model = BiEncoder.from_pretrained(folder)
    assert model.config.pooling == "last" and model.config.append_eos
    right = model.encode(TEXTS)
    model.tokenizer.padding_side = "left"
    np.testing.assert_allclose(model.encode(TEXTS), right, atol=1e-5)


def test_default_minilm_matches_sentence_transformers(minilm_path):
    from sentence_transformers import SentenceTransformer

    model = BiEncoder.from_pretrained("default")
    assert model.dimension == 384 and model.config.pooling == "mean"
    st = SentenceTransformer(str(minilm_path), device="cpu")
    np.testing.assert_allclose(model.encode(TEXTS), st.encode(TEXTS), atol=1e-5)


def test_max_length_never_exceeds_the_models_positions(tiny_bert_dir):
    model = BiEncoder.from_pretrained(tiny_bert_dir, pooling="mean", passage_max_length=400)
    limit = model.backbone.config.max_position_embeddings
    assert model.position_limit == limit and model.max_length("passage") == limit
    long_text = " ".join(["word"] * (3 * limit))
    assert model.encode([long_text, "short"]).shape[0] == 2  # cut at the model's positions, no crash
