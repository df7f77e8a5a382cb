"""End-to-end training runs on a tiny BERT: the loss goes down, runs resume, LoRA merges at save. The
`retriever train` command is tested with the other command-line tests (test_retriever_train_cli.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from drehr.losses import multi_similarity_loss_from_embeddings
from drehr.model import BiEncoder
from drehr.training import (
    LoraSettings,
    TrainConfig,
    apply_lora,
    concept_labels,
    train_retriever,
)
from foundation.errors import ArtifactError
from tests.helpers.retrieval import EXAMPLES


def _config(base_dir, **kw) -> TrainConfig:
    base = dict(
        base_model=str(base_dir),
        pooling="mean",
        anchors_per_batch=4,
        positives_per_anchor=3,
        epochs=1,
        lr=5e-3,
        warmup_ratio=0.1,
        accelerator="cpu",
        devices=1,
        checkpoint_every_n_steps=4,
        log_every_n_steps=1,
        passage_max_length=16,
        query_max_length=6,
    )
    return TrainConfig(**{**base, **kw})


def _full_data_loss(model: BiEncoder) -> float:
    """MS loss with every anchor and every positive in one batch, dropout off."""
    labels = concept_labels(EXAMPLES)
    anchors = torch.from_numpy(model.encode([e.anchor for e in EXAMPLES]))
    cands = torch.from_numpy(model.encode_queries([p for e in EXAMPLES for p in e.positives]))
    owner = torch.tensor([i for i, e in enumerate(EXAMPLES) for _ in e.positives])
    return multi_similarity_loss_from_embeddings(anchors, cands, owner, torch.tensor(sum(labels, []))).item()


def test_training_lowers_loss_and_resumes(tiny_bert_dir, tmp_path):
    # mean pooling: the CLS vector of a random BERT is ~constant
    before = _full_data_loss(BiEncoder.from_pretrained(tiny_bert_dir, pooling="mean"))
    out = tmp_path / "run"
    train_retriever(_config(tiny_bert_dir, epochs=2), EXAMPLES, out)
    with pytest.raises(Exception, match="--resume"):
        train_retriever(_config(tiny_bert_dir, epochs=3), EXAMPLES, out)
    model_dir = train_retriever(_config(tiny_bert_dir, epochs=8), EXAMPLES, out, resume=True)
    done = json.loads((out / "done.json").read_text())
    assert done["global_step"] == 8 * 2  # 8 anchors / 4 per batch, steps continued from epoch 2
    after = _full_data_loss(BiEncoder.from_pretrained(model_dir))
    assert after < 0.9 * before, (before, after)
    # a finished run with the same settings is skipped
    mtime = (model_dir / "model.safetensors").stat().st_mtime_ns
    train_retriever(_config(tiny_bert_dir, epochs=8), EXAMPLES, out, resume=True)
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == mtime
    # a checkpoint damaged after it was written is refused, not resumed from
    last = out / "checkpoints" / "last.ckpt"
    data = bytearray(last.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0xFF for b in data[mid : mid + 64])
    last.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="last.ckpt cannot be resumed from: its content changed"):
        train_retriever(_config(tiny_bert_dir, epochs=9), EXAMPLES, out, resume=True)


def test_lora_trains_adapters_only_and_merges_at_save(tiny_bert_dir, tmp_path):
    model = BiEncoder.from_pretrained(tiny_bert_dir, pooling="cls")
    apply_lora(model, LoraSettings())
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    assert any("query" in n for n in names) and any("value" in n for n in names)
    with torch.no_grad():  # make the adapter non-zero so merging matters
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
    texts = [e.anchor for e in EXAMPLES]
    expected = model.encode(texts)
    unadapted = BiEncoder.from_pretrained(tiny_bert_dir, pooling="cls").encode(texts)
    assert not np.allclose(expected, unadapted, atol=1e-3)
    model.save_pretrained(tmp_path / "merged")
    reloaded = BiEncoder.from_pretrained(tmp_path / "merged")
    assert not any("lora" in n for n, _ in reloaded.named_parameters())
    np.testing.assert_allclose(reloaded.encode(texts), expected, atol=1e-5)
    np.testing.assert_allclose(model.encode(texts), expected, atol=1e-6)  # adapter un-merged after save


@pytest.mark.gpu
def test_deepspeed_bf16_lora_on_gpu(tiny_bert_dir, tmp_path):
    pytest.importorskip("deepspeed")
    config = _config(
        tiny_bert_dir,
        accelerator="gpu",
        devices=1,
        strategy="deepspeed_stage_2_offload",
        precision="bf16-mixed",
        lora=LoraSettings(),
        epochs=2,
    )
    model_dir = train_retriever(config, EXAMPLES, tmp_path / "run")
    assert BiEncoder.from_pretrained(model_dir).encode(["fever"]).shape == (1, 32)


def test_bf16_mixed_lora_on_cpu(tiny_bert_dir, tmp_path):
    """The 7B recipe's precision and LoRA on the CPU (bf16 autocast): trains, merges, saves float32
    weights."""
    config = _config(
        tiny_bert_dir, accelerator="cpu", devices=1, precision="bf16-mixed", lora=LoraSettings(), epochs=2
    )
    model_dir = train_retriever(config, EXAMPLES, tmp_path / "run")
    encoder = BiEncoder.from_pretrained(model_dir)
    emb = encoder.encode(["fever", "sepsis from infection"])
    assert emb.dtype == np.float32 and emb.shape == (2, 32) and np.isfinite(emb).all()
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert not any("lora" in name for name, _ in encoder.named_parameters())


def _decoder_config(tiny_llama: str, **kw) -> TrainConfig:
    """The 7B recipe's shape on a tiny Llama: last-token pooling, LoRA on q_proj/v_proj, bf16 autocast."""
    return _config(tiny_llama, pooling="last", precision="bf16-mixed", lora=LoraSettings(), epochs=2, **kw)


def test_bf16_lora_decoder_on_cpu_saves_a_sentence_transformers_folder(tmp_path):
    from sentence_transformers import SentenceTransformer

    from drehr.model.testing import build_tiny_llama

    llama = build_tiny_llama(tmp_path / "llama")
    model_dir = train_retriever(_decoder_config(str(llama)), EXAMPLES, tmp_path / "run")
    encoder = BiEncoder.from_pretrained(model_dir)
    assert encoder.config.pooling == "last" and encoder.config.append_eos
    assert not any("lora" in name for name, _ in encoder.named_parameters())
    texts = ["fever", "sepsis from infection", "chronic kidney disease"]
    st = SentenceTransformer(str(model_dir), device="cpu")
    np.testing.assert_allclose(st.encode(texts, normalize_embeddings=True), encoder.encode(texts), atol=1e-5)


@pytest.mark.gpu
def test_deepspeed_zero2_bf16_lora_decoder_on_gpu(tmp_path):
    """DR.EHR large's recipe (ZeRO-2, CPU optimizer offload, bf16, LoRA r16/a32 on q_proj/v_proj) on a
    tiny Llama."""
    pytest.importorskip("deepspeed")
    from drehr.model.testing import build_tiny_llama

    llama = build_tiny_llama(tmp_path / "llama")
    config = _decoder_config(str(llama), accelerator="gpu", devices=1, strategy="deepspeed_stage_2_offload")
    model_dir = train_retriever(config, EXAMPLES, tmp_path / "run")
    encoder = BiEncoder.from_pretrained(model_dir, device="cuda")
    emb = encoder.encode(["fever", "sepsis"])
    assert emb.shape == (2, 32) and np.isfinite(emb).all()
