"""`--device` of the commands that encode text (kg link, rag link, retriever eval/eval-icd10/index/search):
a bad value, or `cuda` without a GPU, is a one-line error (exit 2) before any model or data is loaded."""

from __future__ import annotations

import pytest
import torch

from emerge.cli import main


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMERGE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    (tmp_path / "mentions.txt").write_text("high blood pressure\n")
    (tmp_path / "chunks.jsonl").write_text('{"chunk_id": "1_0", "patient_id": "1", "text": "sepsis"}\n')
    return tmp_path


def _error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    "argv",
    [
        ["kg", "link", "--kg", "starter", "--mentions", "mentions.txt"],
        ["rag", "link", "--out", "rag"],
        ["retriever", "eval", "--model", "default", "--data", "data"],
        ["retriever", "eval-icd10", "--model", "default"],
        ["retriever", "index", "--model", "default", "--chunks", "chunks.jsonl", "--out", "idx"],
        ["retriever", "search", "--retriever", "data", "--query", "sepsis"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_bad_device_lists_the_valid_values(files, capsys, argv):
    err = _error([*argv, "--device", "gpu"], capsys)
    assert "device 'gpu' is not one of auto, cpu, cuda, cuda:N" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["kg", "link", "--kg", "starter", "--mentions", "mentions.txt"],
        ["retriever", "index", "--model", "default", "--chunks", "chunks.jsonl", "--out", "idx"],
        ["retriever", "eval", "--model", "default", "--data", "data"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_cuda_without_a_gpu_is_a_clear_error(files, capsys, monkeypatch, argv):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    err = _error([*argv, "--device", "cuda"], capsys)
    assert "device 'cuda' asks for a CUDA GPU but none is visible" in err
    assert not (files / "idx").exists()
