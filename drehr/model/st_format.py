"""The files that make a saved `BiEncoder` folder loadable by `SentenceTransformer(dir)`.

Written in the long-standing layout (modules.json with `sentence_transformers.models.*` types,
1_Pooling/config.json with `pooling_mode_*` flags) that every sentence-transformers release from
2.x to 6.x reads. The query instruction becomes the "query" prompt, so `model.encode_query` (or
`encode(..., prompt_name="query")`) applies it as we do.
"""

from __future__ import annotations

import json
from pathlib import Path

from drehr.model.config import BiEncoderConfig
from foundation.artifacts import atomic_write_text

__all__ = ["write_sentence_transformers_files", "read_sentence_transformers_settings"]


def _dump(path: Path, body) -> None:
    atomic_write_text(path, json.dumps(body, indent=2) + "\n")


def write_sentence_transformers_files(directory: str | Path, config: BiEncoderConfig, dimension: int) -> None:
    """Write modules.json, sentence_bert_config.json, 1_Pooling/, 2_Normalize/ and the prompts."""
    directory = Path(directory)
    _dump(
        directory / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _dump(
        directory / "sentence_bert_config.json",
        {"max_seq_length": config.passage_max_length, "do_lower_case": False},
    )
    _dump(
        directory / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dimension,
            "pooling_mode_cls_token": config.pooling == "cls",
            "pooling_mode_mean_tokens": config.pooling == "mean",
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": config.pooling == "last",
            "include_prompt": True,
        },
    )
    (directory / "2_Normalize").mkdir(parents=True, exist_ok=True)
    _dump(
        directory / "config_sentence_transformers.json",
        {
            "prompts": {"query": config.query_instruction, "document": ""},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def read_sentence_transformers_settings(directory: str | Path) -> dict:
    """Pooling, max length and query prompt of a sentence-transformers folder (empty dict when absent)."""
    directory = Path(directory)
    found: dict = {}
    pooling_file = directory / "1_Pooling" / "config.json"
    if pooling_file.is_file():
        body = json.loads(pooling_file.read_text(encoding="utf-8"))
        mode = body.get("pooling_mode")  # sentence-transformers >= 6 layout
        if mode is None:
            flags = {
                "cls": "pooling_mode_cls_token",
                "mean": "pooling_mode_mean_tokens",
                "last": "pooling_mode_lasttoken",
            }
            mode = next((name for name, key in flags.items() if body.get(key)), None)
        if mode in ("cls", "mean", "lasttoken", "last"):
            found["pooling"] = "last" if mode == "lasttoken" else mode
    sbert_file = directory / "sentence_bert_config.json"
    if sbert_file.is_file():
        body = json.loads(sbert_file.read_text(encoding="utf-8"))
        if isinstance(body.get("max_seq_length"), int):
            found["max_length"] = body["max_seq_length"]
    prompts_file = directory / "config_sentence_transformers.json"
    if prompts_file.is_file():
        prompts = json.loads(prompts_file.read_text(encoding="utf-8")).get("prompts") or {}
        if prompts.get("query"):
            found["query_instruction"] = prompts["query"]
    return found
