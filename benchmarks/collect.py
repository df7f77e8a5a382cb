"""Rebuild benchmarks/RESULTS.md from the per-benchmark files in benchmarks/results/.

Usage: python benchmarks/collect.py
Each benchmark script writes its own results/<name>.md; this joins them under one header, in the
order below (files not listed come last, alphabetically).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ("ingest", "kg", "encode", "index", "retriever_data", "retriever_synthetic", "llm", "rag")
HEADER = """# Benchmark results

Every figure comes from a script in `benchmarks/`, run side by side with a named baseline; the
command is in each section, and `python benchmarks/collect.py` rebuilds this file from
`benchmarks/results/*.md`. Measured on the 2-core development machine (each section says whether
it was idle or shared with other jobs). No GPU was lent to the sessions that recorded these, so the
GPU paths (vLLM, FAISS GPU, DeepSpeed, bf16 training) are unmeasured.
"""


def main() -> None:
    files = sorted(
        (HERE / "results").glob("*.md"),
        key=lambda p: (ORDER.index(p.stem) if p.stem in ORDER else len(ORDER), p.stem),
    )
    sections = []
    for p in files:
        text = p.read_text(encoding="utf-8").strip()
        if text.startswith("# "):
            text = "#" + text  # each file's title becomes a section heading
        sections.append(text)
    body = "\n\n---\n\n".join(sections)
    (HERE / "RESULTS.md").write_text(HEADER + "\n---\n\n" + body + "\n", encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'} from {len(files)} files")


if __name__ == "__main__":
    main()
