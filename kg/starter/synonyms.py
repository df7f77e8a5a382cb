"""The curated table of lay terms and abbreviations common in ICU notes (clinical_synonyms.tsv)."""

from __future__ import annotations

from importlib import resources

from foundation.errors import UserInputError

__all__ = ["read_clinical_synonyms"]


def read_clinical_synonyms(text: str | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """(term, node ids) rows of the bundled table (or of `text` in the same format)."""
    if text is None:
        text = resources.files("kg.starter").joinpath("clinical_synonyms.tsv").read_text(encoding="utf-8")
    rows = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#") or line.startswith("term\t"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise UserInputError(f"clinical synonyms line {line_no} {line!r}: expected 'term<TAB>id,id'")
        rows.append((parts[0].strip(), tuple(i.strip() for i in parts[1].split(",") if i.strip())))
    return rows
