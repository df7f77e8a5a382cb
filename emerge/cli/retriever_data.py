"""`emerge retriever build-stage1|build-stage2|build-qa`: training data for the retriever.

Thin wrappers over drehr.data (`scan_notes`, `build_stage1_file`, `build_stage2_file`,
`build_qa_file`): stream a notes file, build examples into a resumable JSONL (anchors an earlier run
finished are skipped, from the progress record beside it), print the counts as JSON. The LLM, where
one is used, is wired to drehr's plain text function by `emerge.llm.text_fn.llm_text_fn`, with its
answers cached next to --out.
"""

from __future__ import annotations

import json

import click

__all__ = ["COMMANDS", "build_stage1", "build_stage2", "build_qa"]

_notes = click.option(
    "--notes",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Notes table (.parquet, .csv, .csv.gz, .jsonl) with note_id, text and a patient column, "
    "e.g. MIMIC-IV note/discharge.csv.gz or a dataset's notes.parquet.",
)
_patient = click.option(
    "--patient-column",
    default=None,
    help="Patient id column (default: the first of patient_id, subject_id, hadm_id).",
)
_out = click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output JSONL; an existing file is resumed (the anchors it finished are skipped).",
)
_limit = click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    help="Process only the first N chunks (stage I/II) or notes (QA).",
)
_batch = click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=16,
    show_default=True,
    help="Anchors per LLM batch (and per write).",
)


def _echo(counts: dict) -> None:
    click.echo(json.dumps(counts, indent=2))


@click.command(name="build-stage1")
@_notes
@click.option(
    "--kg",
    "kg_spec",
    default="starter",
    show_default=True,
    help="'starter' (the bundled starter KG) or a saved knowledge graph folder.",
)
@_out
@click.option(
    "--llm",
    "llm_config",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="LLM config YAML for abbreviation expansion (e.g. configs/llm/smollm2.yaml); off by default.",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Seed of the per-chunk sampling of KG expansions."
)
@click.option(
    "--min-words",
    default=50,
    show_default=True,
    type=click.IntRange(1),
    help="Skip notes shorter than this after cleaning (DR.EHR: 50).",
)
@_patient
@_limit
@_batch
def build_stage1(
    notes: str,
    kg_spec: str,
    out: str,
    llm_config: str | None,
    seed: int,
    min_words: int,
    patient_column: str | None,
    limit: int | None,
    batch_size: int,
) -> None:
    """DR.EHR stage I (knowledge injection) examples: KG terms found in each chunk and their synonyms,
    hypernyms and related concepts."""
    from drehr.data import Stage1Config, build_stage1_file, scan_notes
    from emerge.llm.text_fn import llm_text_fn
    from foundation.outputs import check_output_file
    from kg.loading import open_graph_spec

    check_output_file(out, "--out", growing=True)  # before the notes and the KG are read
    table = scan_notes(notes, patient_column)  # read in batches while building
    kg = open_graph_spec(kg_spec)
    cache = None
    expand = None
    if llm_config is not None:
        expand, cache = llm_text_fn(llm_config, out)
    try:
        counts = build_stage1_file(
            table, kg, out, Stage1Config(seed=seed), expand, limit, batch_size, min_words
        )
    finally:
        if cache is not None:
            cache.close()
    _echo(counts)


def _llm_command(name: str, doc: str):
    @click.command(name=name, help=doc)
    @_notes
    @click.option(
        "--llm",
        "llm_config",
        required=True,
        type=click.Path(exists=True, dir_okay=False),
        help="LLM config YAML, e.g. configs/llm/smollm2.yaml.",
    )
    @_out
    @_patient
    @_limit
    @_batch
    def command(
        notes: str, llm_config: str, out: str, patient_column: str | None, limit: int | None, batch_size: int
    ) -> None:
        run_llm_builder(name, notes, llm_config, out, patient_column, limit, batch_size)

    return command


def run_llm_builder(
    name: str,
    notes: str,
    llm_config,
    out: str,
    patient_column: str | None = None,
    limit: int | None = None,
    batch_size: int = 16,
    backend=None,
) -> dict:
    """Build stage II ("build-stage2") or QA ("build-qa") examples; `backend` overrides the config's."""
    from drehr.data import build_qa_file, build_stage2_file, scan_notes
    from emerge.llm.text_fn import llm_text_fn
    from foundation.outputs import check_output_file

    check_output_file(out, "--out", growing=True)
    table = scan_notes(notes, patient_column)  # read in batches while building
    generate, cache = llm_text_fn(llm_config, out, backend=backend)
    try:
        build = build_stage2_file if name == "build-stage2" else build_qa_file
        counts = build(table, generate, out, limit=limit, batch_size=batch_size)
    finally:
        cache.close()
    _echo(counts)
    return counts


build_stage2 = _llm_command(
    "build-stage2",
    "DR.EHR stage II examples: an LLM lists the diagnoses, procedures and prescriptions "
    "of each chunk (cached next to --out).",
)
build_qa = _llm_command(
    "build-qa",
    "QA-recipe examples: an LLM writes questions that each note section answers (cached next to --out).",
)

COMMANDS: list = [build_stage1, build_stage2, build_qa]
