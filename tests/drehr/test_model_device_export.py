"""The `device` option (`drehr.model.device`) and the sentence-transformers export of a decoder BiEncoder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from drehr.model import BiEncoder
from drehr.model.device import DEVICE_CHOICES, check_device, resolve_device
from drehr.model.testing import build_tiny_llama
from foundation.errors import UserInputError

TEXTS = [
    "heart failure",
    "chronic kidney disease with anemia and high blood pressure",
    "fever",
    "patient has a history of copd and asthma " * 4,
    "sepsis",
]


@pytest.fixture(scope="module")
def tiny_llama_dir(tmp_path_factory):
    return build_tiny_llama(tmp_path_factory.mktemp("tiny_llama") / "llama")


@pytest.mark.parametrize("passage_max_length", [None, 12])  # 12: the long text is cut, EOS kept last
def test_decoder_export_embeds_like_bi_encoder_in_sentence_transformers(
    tiny_llama_dir, tmp_path, passage_max_length
):
    from sentence_transformers import SentenceTransformer

    model = BiEncoder.from_pretrained(tiny_llama_dir, passage_max_length=passage_max_length)
    assert model.config.pooling == "last" and model.config.append_eos
    model.save_pretrained(tmp_path / "saved")
    saved = json.loads((tmp_path / "saved" / "tokenizer_config.json").read_text())
    assert saved["add_eos_token"] is True and saved["add_bos_token"] is True
    ours = BiEncoder.from_pretrained(tmp_path / "saved")
    st = SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    np.testing.assert_allclose(ours.encode(TEXTS), model.encode(TEXTS), atol=1e-6)
    np.testing.assert_allclose(st.encode(TEXTS, normalize_embeddings=True), ours.encode(TEXTS), atol=1e-5)
    # the reloaded tokenizer appends EOS itself: BiEncoder neither doubles it nor cuts one token more
    assert ours.tokenize(TEXTS, "passage").input_ids == model.tokenize(TEXTS, "passage").input_ids
    ours.save_pretrained(tmp_path / "again")  # saved once more: still the same embeddings
    again = SentenceTransformer(str(tmp_path / "again"), device="cpu")
    np.testing.assert_allclose(again.encode(TEXTS, normalize_embeddings=True), ours.encode(TEXTS), atol=1e-5)


def test_check_device_normalizes_and_lists_the_valid_values():
    assert [check_device(v) for v in (None, "AUTO", " cpu ", "cuda", "cuda:1")] == [
        "auto",
        "auto",
        "cpu",
        "cuda",
        "cuda:1",
    ]
    for bad in ("gpu", "cuda:", "cuda:x", "mps", ""):
        with pytest.raises(UserInputError, match="is not one of auto, cpu, cuda, cuda:N"):
            check_device(bad)
    assert DEVICE_CHOICES == ("auto", "cpu", "cuda", "cuda:N")


def test_resolve_device_without_and_with_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") and resolve_device(None) == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    for asked in ("cuda", "cuda:0"):
        with pytest.raises(UserInputError, match="asks for a CUDA GPU but none is visible"):
            resolve_device(asked)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto") == torch.device("cuda") and resolve_device("cuda:1") == torch.device(
        "cuda:1"
    )
    with pytest.raises(UserInputError, match=r"only 2 CUDA GPU\(s\) are visible \(cuda:0 to cuda:1\)"):
        resolve_device("cuda:2")


def test_from_pretrained_refuses_a_bad_device_before_loading(tiny_bert_dir, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserInputError, match="is not one of"):
        BiEncoder.from_pretrained(tiny_bert_dir, device="gpu")
    with pytest.raises(UserInputError, match="none is visible"):
        BiEncoder.from_pretrained(tiny_bert_dir, device="cuda")
    assert BiEncoder.from_pretrained(tiny_bert_dir, device="auto").device == torch.device("cpu")


@pytest.mark.gpu
def test_device_option_puts_the_encoder_on_cuda(tiny_bert_dir):
    cpu = BiEncoder.from_pretrained(tiny_bert_dir, pooling="mean")
    gpu = BiEncoder.from_pretrained(tiny_bert_dir, pooling="mean", device="cuda")
    assert (
        gpu.device.type == "cuda"
        and BiEncoder.from_pretrained(tiny_bert_dir, device="auto").device.type == "cuda"
    )
    emb = gpu.encode(TEXTS)
    assert emb.dtype == np.float32  # float32 on every device (drehr.model.device)
    np.testing.assert_allclose(emb, cpu.encode(TEXTS), atol=1e-4)
