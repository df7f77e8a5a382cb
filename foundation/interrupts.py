"""Ctrl-C during Lightning training ends like Ctrl-C anywhere else: a `KeyboardInterrupt`.

Lightning (2.x) catches the `KeyboardInterrupt` of a `fit`, ignores SIGINT from then on, and calls
`sys.exit(1)`: the CLI would end with status 1, no message, and Ctrl-C disabled for the rest of the
process. `lightning_interrupts(trainer)` turns that exit back into a `KeyboardInterrupt` (the CLI then
prints "interrupted; finished work is kept" and exits 130) and restores the SIGINT handler. It never
imports Lightning.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["lightning_interrupts"]


@contextmanager
def lightning_interrupts(trainer: Any) -> Iterator[None]:
    """Run a `trainer.fit(...)` / `predict(...)` inside this block to keep Ctrl-C a `KeyboardInterrupt`."""
    main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        yield
    except SystemExit as exc:
        if getattr(trainer, "interrupted", False):
            raise KeyboardInterrupt("training interrupted") from exc
        raise
    finally:
        if main_thread and handler is not None:
            signal.signal(signal.SIGINT, handler)
