"""The files that make a saved `BiEncoder` folder loadable by `SentenceTransformer(dir)`.

Written in the long-standing layout (modules.json with `sentence_transformers.models.*` types,
1_Pooling/config.json with `pooling_mode_*` flags) that every sentence-transformers release from
2.x to 6.x reads. The query instruction becomes the "query" prompt, so `model.encode_query` (or
`encode(..., prompt_name="query")`) applies it as we do.

A decoder with last-token pooling needs the EOS token at the end of every text (`append_eos`): our
`BiEncoder` appends it while tokenizing, but sentence-transformers has no option of its own for it
(6.x: its Transformer module calls the tokenizer, `processing_kwargs` only pass call arguments). So the
saved tokenizer is made to append EOS itself, as decoder embedders published for sentence-transformers
do (Qwen3-Embedding added such a post-processor to its tokenizer.json: QwenLM/Qwen3-Embedding issue
#54): `write_eos_template` puts a TemplateProcessing post-processor ending in EOS into
tokenizer.json and sets `add_eos_token` (with `add_bos_token` as it was) in tokenizer_config.json, for
tokenizer classes that rebuild their post-processor from those flags, then checks that the folder's
tokenizer, loaded back, gives the ids `BiEncoder` feeds the model.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from drehr.model.config import BiEncoderConfig
from foundation.artifacts import atomic_write_text

__all__ = ["write_sentence_transformers_files", "read_sentence_transformers_settings", "write_eos_template"]

logger = logging.getLogger(__name__)
_PROBES = ("a", "heart failure", "The patient denies chest pain.")


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


def _special_ids(tokenizer) -> tuple[list[int], list[int]]:
    """(prefix, suffix): the special-token ids the tokenizer puts before and after a text's own ids."""
    full = tokenizer(_PROBES[1], add_special_tokens=True)["input_ids"]
    plain = tokenizer(_PROBES[1], add_special_tokens=False)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return full[:start], full[start + len(plain) :]
    raise ValueError(f"the text's ids {plain} are not inside its ids with special tokens {full}")


def write_eos_template(directory: str | Path, tokenizer) -> bool:
    """Make the tokenizer saved in `directory` append EOS to every text, as `BiEncoder` does for decoders.

    `tokenizer` is the one that was saved there (it does not append EOS itself). Returns True when the
    folder's tokenizer, loaded back with transformers, gives `BiEncoder`'s ids for a few probe texts; else
    logs a WARNING that `SentenceTransformer(directory)` will embed differently and returns False.
    """
    from transformers import AutoTokenizer

    directory = Path(directory)
    eos_id = tokenizer.eos_token_id
    if eos_id is None:
        raise ValueError("append_eos is set but the tokenizer has no eos_token")
    try:
        prefix, suffix = _special_ids(tokenizer)
    except ValueError as exc:
        logger.warning(
            "cannot make the tokenizer saved in %s append EOS (%s); SentenceTransformer(%s) will embed "
            "texts differently from BiEncoder.from_pretrained",
            directory,
            exc,
            directory,
        )
        return False
    if not suffix or suffix[-1] != eos_id:
        suffix = [*suffix, eos_id]
    names = tokenizer.convert_ids_to_tokens

    def part(ids: list[int], sequence: int) -> list[str]:
        return [f"{name}:{sequence}" for name in names(ids)]

    single = [*part(prefix, 0), "$A:0", *part(suffix, 0)]
    pair = [*single, "$B:1", *part(suffix, 1)]
    specials = sorted({(name, i) for name, i in zip(names(prefix + suffix), prefix + suffix, strict=True)})
    tokenizer_json = directory / "tokenizer.json"
    if tokenizer_json.is_file():
        from tokenizers import Tokenizer, processors

        backend = Tokenizer.from_file(str(tokenizer_json))
        backend.post_processor = processors.TemplateProcessing(
            single=single, pair=pair, special_tokens=specials
        )
        atomic_write_text(tokenizer_json, backend.to_str(pretty=True))
    config_file = directory / "tokenizer_config.json"
    body = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    body["add_eos_token"] = True
    body["add_bos_token"] = bool(prefix) and prefix == [tokenizer.bos_token_id]
    _dump(config_file, body)

    loaded = AutoTokenizer.from_pretrained(directory, trust_remote_code=False, local_files_only=True)
    for text in _PROBES:
        ids = tokenizer(text)["input_ids"]
        wanted = ids if ids and ids[-1] == eos_id else [*ids, eos_id]
        got = loaded(text)["input_ids"]
        if got != wanted:
            logger.warning(
                "the tokenizer saved in %s does not append EOS as BiEncoder does (%r gives %s, expected %s); "
                "SentenceTransformer(%s) will embed texts differently from BiEncoder.from_pretrained",
                directory,
                text,
                got,
                wanted,
                directory,
            )
            return False
    return True


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
