"""The one form in which terms and texts are compared: lower-cased, whitespace collapsed.

kg's term matcher and entity linker key surface forms by it, drehr's training groups positives
that are the same string by it, and emerge's RAG stage checks note entities against KG surfaces
with it; all of them must agree, so it lives here, below every package.
"""

from __future__ import annotations

__all__ = ["normalize_term"]


def normalize_term(term: str) -> str:
    """Lower-case and collapse whitespace: "Heart  Failure\\n" -> "heart failure"."""
    return " ".join(term.lower().split())
