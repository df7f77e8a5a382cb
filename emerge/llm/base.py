"""The one LLM interface: prompts in, texts out, sampling settings explicit.

Every backend (transformers on CPU/GPU, vLLM on GPU, a loopback OpenAI-compatible server) is an
`LLMBackend`. A prompt is either a plain string (sent as one user turn through the model's chat
template) or a list of chat messages `[{"role": "system"|"user"|"assistant", "content": str}, ...]`.
`SamplingConfig` holds every setting that changes the output, so it is part of the cache key.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from foundation.errors import UserInputError

__all__ = [
    "Prompt",
    "ChatMessages",
    "SamplingConfig",
    "LLMBackend",
    "to_messages",
    "check_prompts",
    "truncate_at_stop",
]

ChatMessages = list[dict[str, str]]
Prompt = str | ChatMessages

_ROLES = ("system", "user", "assistant")


class SamplingConfig(BaseModel):
    """Decoding settings. temperature == 0 means greedy decoding (top_p and seed then do nothing).

    `seed` makes sampled output repeatable for the same batch on the same machine; it is part of the
    cache key, so changing it (as structured-output retries do) asks the model again.
    `stop`: strings that end the output; the text from the first stop string on is cut.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(0.0, ge=0.0, le=5.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(256, ge=1, le=131072)
    seed: int = Field(0, ge=0)
    stop: tuple[str, ...] = ()

    @field_validator("stop")
    @classmethod
    def _non_empty_stops(cls, stop: tuple[str, ...]) -> tuple[str, ...]:
        if any(s == "" for s in stop):
            raise ValueError(f"stop strings must be non-empty, got {list(stop)!r}; remove the empty string")
        return stop

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


def to_messages(prompt: Prompt) -> ChatMessages:
    """A plain string becomes one user turn; a message list is checked and returned as is."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return list(prompt)


def _check_one(name: str, prompt: Any) -> None:
    if isinstance(prompt, str):
        if not prompt.strip():
            raise UserInputError(
                f"{name} is empty{' (only whitespace)' if prompt else ''}; the model would answer a blank "
                f"question. Give it text, or leave that item out"
            )
        return
    if not isinstance(prompt, list) or not prompt:
        raise UserInputError(
            f"{name} is {type(prompt).__name__} {str(prompt)[:80]!r}; expected a string or a non-empty "
            f"list of chat messages like [{{'role': 'user', 'content': '...'}}]"
        )
    for msg in prompt:
        if not isinstance(msg, dict) or set(msg) != {"role", "content"}:
            raise UserInputError(
                f"{name} has message {str(msg)[:80]!r}; each message must be a dict with exactly the keys "
                f"'role' and 'content'"
            )
        if msg["role"] not in _ROLES or not isinstance(msg["content"], str):
            raise UserInputError(
                f"{name} has role {msg['role']!r} / content of type {type(msg['content']).__name__}; "
                f"roles are {list(_ROLES)} and content must be a string"
            )
    if not any(msg["content"].strip() for msg in prompt):
        raise UserInputError(
            f"{name} has {len(prompt)} chat message(s) whose contents are all empty; the model would "
            f"answer a blank question. Give a message text, or leave that item out"
        )


def check_prompts(prompts: Sequence[Prompt], names: Sequence[str] | None = None) -> None:
    """Raise `UserInputError` naming the first malformed or empty prompt.

    names: how to call each prompt in the message (e.g. "prompts.jsonl:3 (id 'stay-7')"); default
    "prompt <position>".
    """
    if isinstance(prompts, str):
        raise UserInputError("prompts must be a list of prompts, got one string; wrap it in a list: [prompt]")
    for i, prompt in enumerate(prompts):
        _check_one(names[i] if names is not None else f"prompt {i}", prompt)


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut `text` at the earliest occurrence of any stop string (the stop string itself is dropped)."""
    cut = len(text)
    for s in stop:
        pos = text.find(s)
        if pos != -1:
            cut = min(cut, pos)
    return text[:cut]


class LLMBackend(abc.ABC):
    """Generates one text per prompt. Subclasses set `name` and `model_id` (both enter cache keys).

    `max_context_tokens` is the model's context window (prompt + output); `count_tokens(text)` counts
    tokens of a text with the model's tokenizer, so callers (the RAG stage) can trim a prompt to fit.
    """

    name: str = "base"
    model_id: str = ""
    # Prompts per `generate` call that keep the backend busy (callers batch by it; see run_batch).
    preferred_batch_size: int = 16

    @property
    @abc.abstractmethod
    def max_context_tokens(self) -> int:
        """Context window of the model in tokens."""

    @abc.abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of tokens in `text` (no special tokens)."""

    @abc.abstractmethod
    def _generate(self, prompts: list[Prompt], sampling: SamplingConfig) -> list[str]:
        """Backend-specific generation; prompts are already checked."""

    def generate(self, prompts: Sequence[Prompt], sampling: SamplingConfig) -> list[str]:
        """One output text per prompt, in order. Stop strings are cut from the outputs."""
        prompts = list(prompts)
        check_prompts(prompts)
        if not prompts:
            return []
        outputs = self._generate(prompts, sampling)
        if len(outputs) != len(prompts):
            raise RuntimeError(f"{self.name} returned {len(outputs)} outputs for {len(prompts)} prompts")
        if sampling.stop:
            outputs = [truncate_at_stop(o, sampling.stop) for o in outputs]
        return outputs

    def close(self) -> None:  # noqa: B027 (an optional hook, not abstract)
        """Free resources (GPU memory, connections); the backend is not used afterwards. A backend that
        holds any must free them here, and a second call must do nothing. The default does nothing."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r})"
