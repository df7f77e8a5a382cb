"""Structured output: entity lists as JSON `{"entities": [...]}`, validated, with up to 3 retries.

`parse_entities` finds the JSON in a model answer whether it is fenced (```json ... ```), bare, or
embedded in surrounding prose, and checks it is a list of non-empty strings (a bare JSON array
of strings is accepted too when it is the whole answer or a fenced block). `generate_entities` asks a
backend, re-prompts the prompts whose answer did not parse (with a reminder, a changed seed and
temperature > 0, so a retry can differ), and records for every prompt each attempt's output and
error, which attempt was used, or that nothing parsed.
Garbage, empty or endless output (cut at max_new_tokens) gives a `failed` result, never an exception.

The answer format is EMERGE's (its NER prompt asks for a fenced ```json {"entities": [...]} block;
`emerge.rag.note_entities.NER_PROMPT`), the parsing and retries are ours. EMERGE's released code
(yhzhu99/EMERGE rag/call_qwen1.5.py, `parse_json` and `LLM_single`, lines 44-83) takes the text between
the first and last ``` lines (else the whole answer) as JSON, and sends the same prompt again, 3 requests
in all, until it gets a non-empty entity list (an answer of `{"entities": []}` is asked again too);
here a valid empty list is accepted, and only an answer that does not parse is asked again, up to
`max_retries` times after the first, with a reminder, another seed and a temperature above 0.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from emerge.llm.base import LLMBackend, Prompt, SamplingConfig
from emerge.llm.batch import run_batch
from emerge.llm.cache import LLMCache
from foundation.errors import UserInputError

__all__ = [
    "StructuredOutputError",
    "EntityAttempt",
    "EntityResult",
    "parse_entities",
    "generate_entities",
    "RETRY_REMINDER",
    "retry_sampling",
]

RETRY_REMINDER = 'Answer only with JSON of the form {"entities": ["...", "..."]} and nothing else.'
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
_MAX_EMBEDDED_STARTS = 200  # bounded scan of '{' / '[' positions in long garbage


class StructuredOutputError(ValueError):
    """A model answer holds no valid entity list; the message says why."""


def _validate(value: Any) -> list[str]:
    """The entity list inside a decoded JSON value, or StructuredOutputError saying what is wrong."""
    if isinstance(value, dict):
        if "entities" not in value:
            raise StructuredOutputError(f"JSON object without an 'entities' key (keys: {sorted(value)[:5]})")
        value = value["entities"]
    if not isinstance(value, list):
        raise StructuredOutputError(f"'entities' is a {type(value).__name__}, expected a list of strings")
    entities = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise StructuredOutputError(
                f"entities[{i}] is a {type(item).__name__}, expected a non-empty string"
            )
        if not item.strip():
            raise StructuredOutputError(f"entities[{i}] is an empty string")
        entities.append(item.strip())
    return entities


def _candidates(text: str):
    """JSON texts to try, most explicit first: fenced blocks, the whole answer, then embedded objects."""
    for match in _FENCE.finditer(text):
        yield match.group(1).strip()
    yield text.strip()
    decoder = json.JSONDecoder()
    # Embedded: JSON objects only (a bare array is accepted only as the whole answer or a fenced block,
    # so the list inside {"diseases": [...]} is not mistaken for an entity list).
    starts = [m.start() for m in re.finditer(r"\{", text)][:_MAX_EMBEDDED_STARTS]
    for start in starts:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            yield value


def parse_entities(text: str) -> list[str]:
    """Entity strings from a model answer (see module docstring); StructuredOutputError if none is valid."""
    if not text or not text.strip():
        raise StructuredOutputError("empty output")
    reason = None  # the first (most explicit) candidate's problem is the most useful one to report
    for candidate in _candidates(text):
        if isinstance(candidate, str):
            try:
                candidate = json.loads(candidate)
            except json.JSONDecodeError:
                continue
        if not isinstance(candidate, (dict, list)):
            continue
        try:
            return _validate(candidate)
        except StructuredOutputError as exc:
            reason = reason or str(exc)
    raise StructuredOutputError(reason or "no JSON object or array found")


@dataclass(frozen=True)
class EntityAttempt:
    """One model answer: its text, and why it did not parse (None if it did)."""

    output: str
    error: str | None


@dataclass(frozen=True)
class EntityResult:
    """Entities for one prompt and how they were obtained.

    status: "parsed" (entities come from attempts[used_attempt]) or "failed" (nothing parsed; entities empty).
    """

    entities: tuple[str, ...]
    status: Literal["parsed", "failed"]
    used_attempt: int | None
    attempts: tuple[EntityAttempt, ...]

    @property
    def used_output(self) -> str | None:
        return None if self.used_attempt is None else self.attempts[self.used_attempt].output

    def to_dict(self) -> dict[str, Any]:
        return {
            "entities": list(self.entities),
            "status": self.status,
            "used_attempt": self.used_attempt,
            "attempts": [{"output": a.output, "error": a.error} for a in self.attempts],
        }


def _with_reminder(prompt: Prompt) -> Prompt:
    if isinstance(prompt, str):
        return f"{prompt}\n\n{RETRY_REMINDER}"
    messages = [dict(m) for m in prompt]
    for message in reversed(messages):
        if message["role"] == "user":
            message["content"] = f"{message['content']}\n\n{RETRY_REMINDER}"
            break
    else:
        messages.append({"role": "user", "content": RETRY_REMINDER})
    return messages


def retry_sampling(sampling: SamplingConfig, attempt: int, retry_temperature: float) -> SamplingConfig:
    """Attempt 0 uses `sampling`; retry k uses seed + k and a temperature of at least `retry_temperature`."""
    if attempt == 0:
        return sampling
    temperature = sampling.temperature if sampling.temperature > 0 else retry_temperature
    return sampling.model_copy(update={"seed": sampling.seed + attempt, "temperature": temperature})


def generate_entities(
    backend: LLMBackend,
    prompts: Sequence[Prompt],
    sampling: SamplingConfig,
    cache: LLMCache | None = None,
    max_retries: int = 3,
    retry_temperature: float = 0.7,
    batch_size: int | None = None,
    progress: bool = True,
) -> list[EntityResult]:
    """One `EntityResult` per prompt; each prompt is tried at most 1 + `max_retries` times.

    Every round sends all still-failing prompts in one cached `run_batch`, so a rerun after a kill repeats
    no finished attempt. An error note says when an answer was cut at max_new_tokens (endless output).
    """
    if not 0 <= max_retries <= 10:
        raise UserInputError(f"max_retries must be in 0..10, got {max_retries}")
    if retry_temperature <= 0:
        raise UserInputError(
            f"retry_temperature must be > 0 so that a retry can differ, got {retry_temperature}"
        )
    attempts: list[list[EntityAttempt]] = [[] for _ in prompts]
    found: dict[int, list[str]] = {}
    pending = list(range(len(prompts)))
    for attempt in range(max_retries + 1):
        if not pending:
            break
        round_sampling = retry_sampling(sampling, attempt, retry_temperature)
        items = [(i, prompts[i] if attempt == 0 else _with_reminder(prompts[i])) for i in pending]
        outputs = run_batch(
            items,
            backend,
            round_sampling,
            cache=cache,
            batch_size=batch_size,
            progress=progress,
            desc=f"entities (attempt {attempt + 1})",
        )
        still = []
        for i in pending:
            text = outputs[i]
            try:
                found[i] = parse_entities(text)
                attempts[i].append(EntityAttempt(text, None))
            except StructuredOutputError as exc:
                error = str(exc)
                if text and backend.count_tokens(text) >= round_sampling.max_new_tokens - 1:
                    error += f" (output cut at max_new_tokens={round_sampling.max_new_tokens})"
                attempts[i].append(EntityAttempt(text, error))
                still.append(i)
        pending = still
    return [
        EntityResult(tuple(found[i]), "parsed", len(attempts[i]) - 1, tuple(attempts[i]))
        if i in found
        else EntityResult((), "failed", None, tuple(attempts[i]))
        for i in range(len(prompts))
    ]
