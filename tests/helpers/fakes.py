"""Deterministic fake LLM backends for the cache, batch, structured-output, RAG and experiment tests
(no model needed)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from emerge.llm.base import LLMBackend, Prompt, SamplingConfig


def prompt_text(prompt: Prompt) -> str:
    return prompt if isinstance(prompt, str) else " | ".join(m["content"] for m in prompt)


def _append(path: Path, lines: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
        fh.flush()
        os.fsync(fh.fileno())


class FakeBackend(LLMBackend):
    """Answers `reply(prompt, sampling)` (default "echo:<prompt>@<seed>").

    calls: every prompt generated in this process. done_log: file that gets one line per prompt once its
    batch is generated (counts backend work across processes). start_log: one line per batch started.
    delay_s: sleep per batch from batch number `slow_from` on, to give a test time to kill the
    process mid-run.
    """

    name = "fake"

    def __init__(
        self,
        reply: Callable[[str, SamplingConfig], str] | None = None,
        model_id: str = "fake-1",
        delay_s: float = 0.0,
        done_log: Path | None = None,
        start_log: Path | None = None,
        slow_from: int = 0,
    ) -> None:
        self.model_id = model_id
        self.reply = reply or (lambda text, s: f"echo:{text}@{s.seed}")
        self.delay_s = delay_s
        self.slow_from = slow_from
        self.done_log = done_log
        self.start_log = start_log
        self.calls: list[str] = []
        self.batches: list[int] = []

    @property
    def max_context_tokens(self) -> int:
        return 2048

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _generate(self, prompts: list[Prompt], sampling: SamplingConfig) -> list[str]:
        texts = [prompt_text(p) for p in prompts]
        if self.start_log is not None:
            _append(self.start_log, [f"batch {len(self.batches)}"])
        if self.delay_s and len(self.batches) >= self.slow_from:
            time.sleep(self.delay_s)
        self.calls.extend(texts)
        self.batches.append(len(texts))
        if self.done_log is not None:
            _append(self.done_log, texts)
        return [self.reply(t, sampling) for t in texts]
