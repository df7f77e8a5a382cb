"""`BiEncoder`: a Hugging Face encoder or decoder turned into an L2-normalized text embedder.

The same weights embed queries and passages; queries may carry an instruction prefix and have
their own max length. `encode` is the inference path (sorted by length, batched, float32 numpy);
`forward` is the training path (tensors in, embeddings [B, d] with gradients out).
A saved folder holds the Hugging Face weights (safetensors), the tokenizer, `drehr_config.json`
and the files that let `SentenceTransformer(dir)` load the same model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from drehr.model.config import CONFIG_FILE, CONFIG_KIND, CONFIG_VERSION, BiEncoderConfig
from drehr.model.loading import load_backbone, resolve_model_dir, settings_for
from drehr.model.pooling import pool
from drehr.model.st_format import write_eos_template, write_sentence_transformers_files
from drehr.model.tokenize import TokenizedTexts, appends_eos, check_texts, pad_ids, tokenize_texts
from drehr.model.weights import hash_weight_files, merged_base, weight_files
from foundation.artifacts import stable_hash, write_config
from foundation.errors import UserInputError
from foundation.outputs import cached_step, check_whole

__all__ = ["BiEncoder", "Side"]

logger = logging.getLogger(__name__)

Side = Literal["query", "passage"]
_BLOCK = 4096  # texts tokenized (and re-sorted by token length) at a time: bounds memory


class BiEncoder(torch.nn.Module):
    """Shared-weight text encoder with CLS / mean / last-token pooling and L2 normalization."""

    def __init__(
        self,
        backbone: torch.nn.Module,
        tokenizer,
        config: BiEncoderConfig,
        weights_hash: str = "",
        source: str = "",
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.config = config
        self.source = source
        self._weights_hash = weights_hash
        if tokenizer.pad_token_id is None:
            raise UserInputError(
                f"the tokenizer of {source or 'this model'} has no pad token; set one before use."
            )

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def from_pretrained(
        cls,
        path_or_name: str | os.PathLike = "default",
        *,
        pooling: str | None = None,
        query_instruction: str | None = None,
        query_max_length: int | None = None,
        passage_max_length: int | None = None,
        torch_dtype: torch.dtype | None = None,
        device: str | torch.device | None = None,
    ) -> BiEncoder:
        """Load "default" (the bundled all-MiniLM-L6-v2), a folder we saved, or any local HF folder.

        Settings come from, in order: the keyword arguments, our `drehr_config.json`, the
        sentence-transformers files of the folder, and defaults (decoders: last-token pooling and
        EOS appended; encoders: CLS). Nothing is downloaded and `trust_remote_code` stays off.
        `device`: None keeps the model on the CPU; "auto", "cpu", "cuda" or "cuda:N" place it
        (`drehr.model.device.resolve_device`: a bad value or a missing GPU is a `UserInputError`).
        """
        from drehr.model.device import resolve_device

        placed_on = None if device is None else resolve_device(device)  # refused before the weights load
        directory = resolve_model_dir(path_or_name)
        check_whole(directory, CONFIG_KIND, "model folder", "save or train the model again")
        overrides = {
            "pooling": pooling,
            "query_instruction": query_instruction,
            "query_max_length": query_max_length,
            "passage_max_length": passage_max_length,
        }
        backbone, tokenizer, is_decoder = load_backbone(directory, torch_dtype)
        config, weights_hash = settings_for(
            directory, backbone, tokenizer, is_decoder, {k: v for k, v in overrides.items() if v is not None}
        )
        model = cls(
            backbone,
            tokenizer,
            config,
            weights_hash or hash_weight_files(weight_files(directory)),
            source=str(directory),
        )
        if placed_on is not None:
            model.to(placed_on)
        return model

    def save_pretrained(self, directory: str | os.PathLike) -> Path:
        """Save weights (LoRA merged), tokenizer, our config and sentence-transformers files, atomically."""
        target = Path(directory)

        def write(tmp: Path) -> dict:
            with merged_base(self.backbone) as (base, state_dict):
                base.save_pretrained(tmp, state_dict=state_dict, safe_serialization=True)
            self.tokenizer.save_pretrained(tmp)
            write_sentence_transformers_files(tmp, self.config, self.dimension)
            if self.config.append_eos and not appends_eos(self.tokenizer):
                write_eos_template(tmp, self.tokenizer)  # so SentenceTransformer(dir) appends EOS too
            files = weight_files(tmp)
            self._weights_hash = hash_weight_files(files)
            write_config(
                tmp,
                CONFIG_KIND,
                CONFIG_VERSION,
                {
                    "bi_encoder": self.config.model_dump(),
                    "dimension": self.dimension,
                    "weights_sha256": self._weights_hash,
                    "weights_bytes": sum(f.stat().st_size for f in files),
                    "source": self.source,
                },
                name=CONFIG_FILE,
            )
            return {"weights_sha256": self._weights_hash}

        # a folder emerge did not write (e.g. one that holds another model) is refused, never replaced
        cached_step(target, CONFIG_KIND, CONFIG_VERSION, None, write, force=True, what="model folder")
        logger.info("saved BiEncoder (%s) to %s", self.fingerprint, target)
        return target

    # ------------------------------------------------------------------ identity
    @property
    def dimension(self) -> int:
        """Size d of the embeddings."""
        return int(self.backbone.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.backbone.parameters()).device

    @property
    def fingerprint(self) -> str:
        """Stable id of the config and the weights as loaded or last saved (not of unsaved training)."""
        return stable_hash(CONFIG_KIND, self.config.model_dump(), self.dimension, self._weights_hash)

    # ------------------------------------------------------------------ tokenization and forward
    def max_length(self, side: Side) -> int:
        """Tokens kept per text of `side`: the configured length, but never more positions than the
        backbone has (a 128-position model asked for 160 would fail inside its embedding layer)."""
        wanted = self.config.query_max_length if side == "query" else self.config.passage_max_length
        limit = self.position_limit
        if limit is not None and wanted > limit:
            if not getattr(self, "_warned_length", False):
                logger.warning(
                    "%s max length %d exceeds the model's %d positions; texts are cut at %d tokens",
                    side,
                    wanted,
                    limit,
                    limit,
                )
                self._warned_length = True
            return limit
        return wanted

    @property
    def position_limit(self) -> int | None:
        """How many token positions the backbone can embed (None: no fixed limit, e.g. rotary)."""
        from drehr.model.loading import is_decoder_config

        config = self.backbone.config
        if getattr(config, "position_embedding_type", "absolute") != "absolute" or is_decoder_config(config):
            return None
        positions = getattr(config, "max_position_embeddings", None)
        if positions is None:
            return None
        offset = 2 if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert") else 0
        return int(positions) - offset

    def prepare(self, texts: Sequence[str], side: Side) -> list[str]:
        """Checked texts, with the query instruction prepended on the query side."""
        texts = check_texts(texts, f"{side} texts")
        if side == "query" and self.config.query_instruction:
            return [self.config.query_instruction + t for t in texts]
        return texts

    def tokenize(self, texts: Sequence[str], side: Side, max_length: int | None = None) -> TokenizedTexts:
        """Unpadded ids of `texts` as `side` ("query" or "passage"), cut at `max_length` (default: config)."""
        return tokenize_texts(
            self.tokenizer,
            self.prepare(texts, side),
            max_length or self.max_length(side),
            append_eos=self.config.append_eos,
        )

    def pad(self, rows: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        """Pad id lists on the tokenizer's padding side: -> input_ids, attention_mask [B, T]."""
        return pad_ids(rows, self.tokenizer.pad_token_id, self.tokenizer.padding_side)

    def forward(self, features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """input_ids, attention_mask [B, T] -> L2-normalized embeddings [B, d] (with gradients)."""
        out = self.backbone(input_ids=features["input_ids"], attention_mask=features["attention_mask"])
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]  # [B, T, H]
        pooled = pool(hidden, features["attention_mask"], self.config.pooling)  # [B, H]
        return F.normalize(pooled.float(), p=2, dim=-1)

    # ------------------------------------------------------------------ inference
    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        show_progress_bar: bool = False,
        side: Side = "passage",
    ) -> np.ndarray:
        """Embed passages (or `side="query"`): -> float32 [n, d], rows L2-normalized, in input order.

        Texts are sorted by length so each batch pads little, and the order is restored.
        Texts longer than the side's max length are truncated; their number is logged once per call.
        """
        texts = self.prepare(texts, side)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        by_chars = np.argsort([-len(t) for t in texts], kind="stable")
        n_truncated = 0
        was_training = self.training
        self.eval()
        try:
            with (
                torch.inference_mode(),
                tqdm(
                    total=len(texts), desc=f"encode {side}s", unit="text", disable=not show_progress_bar
                ) as bar,
            ):
                for start in range(0, len(texts), _BLOCK):
                    block = by_chars[start : start + _BLOCK]
                    tok = tokenize_texts(
                        self.tokenizer,
                        [texts[i] for i in block],
                        self.max_length(side),
                        append_eos=self.config.append_eos,
                    )
                    n_truncated += tok.n_truncated
                    by_tokens = np.argsort([-len(r) for r in tok.input_ids], kind="stable")
                    for b in range(0, len(block), batch_size):
                        rows = by_tokens[b : b + batch_size]
                        batch = {
                            k: v.to(self.device)
                            for k, v in self.pad([tok.input_ids[r] for r in rows]).items()
                        }
                        out[block[rows]] = self(batch).cpu().numpy()
                        bar.update(len(rows))
        finally:
            self.train(was_training)
        if n_truncated:
            logger.warning(
                "%d of %d %s texts were longer than %d tokens and were truncated",
                n_truncated,
                len(texts),
                side,
                self.max_length(side),
            )
        return out

    def encode_queries(
        self, texts: Sequence[str], batch_size: int = 64, show_progress_bar: bool = False
    ) -> np.ndarray:
        """Embed queries: instruction prefix (if configured) and the query max length."""
        return self.encode(texts, batch_size=batch_size, show_progress_bar=show_progress_bar, side="query")


def load_sentence_encoder(
    path_or_name: str | os.PathLike = "default", what: str = "--model", **kwargs
) -> BiEncoder:
    """`BiEncoder.from_pretrained` for a model that must embed sentences (linking, search, features):
    "default", a folder we saved, or a sentence-transformers folder; any other model folder is refused."""
    from drehr.model.loading import check_sentence_encoder

    check_sentence_encoder(path_or_name, what)
    return BiEncoder.from_pretrained(path_or_name, **kwargs)
