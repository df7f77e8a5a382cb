"""Subprocess for the kill-and-resume and two-process tests: runs one cached batch with a slow fake.

usage, from the repository root (so that `tests` imports as a package):
    python -m tests.helpers.llm_worker CACHE RESULT DONE_LOG START_LOG FIRST LAST BATCH_SIZE \
        DELAY_S [SLOW_FROM]
Items are ("item-<i>", "prompt <i>") for i in FIRST..LAST-1; the results go to RESULT as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from emerge.llm import LLMCache, SamplingConfig, run_batch
from foundation.artifacts import atomic_write_text
from tests.helpers.fakes import FakeBackend


def main(argv: list[str]) -> None:
    cache_path, result, done_log, start_log = (Path(a) for a in argv[:4])
    first, last, batch_size = (int(a) for a in argv[4:7])
    delay = float(argv[7])
    slow_from = int(argv[8]) if len(argv) > 8 else 0
    backend = FakeBackend(delay_s=delay, done_log=done_log, start_log=start_log, slow_from=slow_from)
    items = [(f"item-{i}", f"prompt {i}") for i in range(first, last)]
    with LLMCache(cache_path) as cache:
        out = run_batch(
            items,
            backend,
            SamplingConfig(max_new_tokens=8),
            cache=cache,
            batch_size=batch_size,
            progress=False,
        )
    atomic_write_text(result, json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
