"""`emerge retriever build-stage1|build-stage2|build-qa|build-kg-pairs`: training data for the retriever.

Thin wrappers over drehr.data (`scan_notes`, `build_stage1_file`, `build_stage2_file`,
`build_qa_file`): stream a notes file, build examples into a resumable JSONL (anchors an earlier run
finished are skipped, from the progress record beside it), print the counts as JSON. The LLM, where
one is used, is wired to drehr's plain text function by `emerge.llm.text_fn.llm_text_fn`, with its
answers cached next to --out. `build-kg-pairs` needs no notes: it pairs a KG's synonyms with their
concepts' names (`drehr.data.write_kg_pairs`), keeping the synthetic cohort's vocabulary
(`synthetic_note_vocabulary`) and the ICD-10-CM benchmark's codes out of training.
"""

from __future__ import annotations

import json

import click

from foundation.errors import UserInputError

__all__ = [
    "COMMANDS",
    "build_stage1",
    "build_stage2",
    "build_qa",
    "build_kg_pairs",
    "kg_pairs_file",
    "synthetic_note_vocabulary",
]

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


def synthetic_note_vocabulary() -> list[str]:
    """Every phrase the synthetic cohort's generator writes into notes for a condition or symptom: each
    condition's name, synonyms and abbreviations (`emerge.data.synth.conditions`) and the symptoms of
    its radiology indications. The synthetic benchmarks query and judge notes by these words, so they are
    kept out of knowledge-alignment training (a model must not be trained on its test vocabulary)."""
    from emerge.data.synth.conditions import CONDITIONS
    from emerge.data.synth.notes import SYMPTOMS  # the generator's own tuple; a copy here could drift

    forms = [form for c in CONDITIONS for form in (c.name, *c.synonyms, *c.abbreviations)]
    return list(dict.fromkeys([*forms, *SYMPTOMS]))


def kg_pairs_file(
    kg_spec: str,
    out: str,
    holdout: float = 0.2,
    seed: int = 0,
    reverse: bool = False,
    exclude_synthetic: bool = True,
    exclude_icd10_eval: int = 300,
) -> dict:
    """`drehr.data.write_kg_pairs` for a `--kg` value, leaving out the synthetic cohort's vocabulary (unless
    `exclude_synthetic` is off) and the concepts and texts of the ICD-10-CM benchmark's default queries
    (`exclude_icd10_eval` codes, seed 0; 0 keeps them). Returns the counts."""
    from drehr.data import KGPairsConfig, holdout_path, icd10_benchmark_exclusions, write_kg_pairs
    from foundation.outputs import check_output_file
    from kg.loading import open_graph_spec

    config = KGPairsConfig(holdout=holdout, seed=seed, reverse=reverse)  # a bad --holdout fails first
    check_output_file(out, "--out")  # before the KG is read
    check_output_file(holdout_path(out), "held-out queries file")
    if exclude_icd10_eval < 0:
        raise UserInputError(
            f"--exclude-icd10-eval {exclude_icd10_eval} is negative; pass the number of codes "
            "`emerge retriever eval-icd10 --limit` samples (300 by default), or 0 to keep them"
        )
    graph = open_graph_spec(kg_spec)
    terms = synthetic_note_vocabulary() if exclude_synthetic else []
    nodes: set[str] = set()
    if exclude_icd10_eval:
        nodes, icd_terms = icd10_benchmark_exclusions(exclude_icd10_eval, seed=0)
        terms += sorted(icd_terms)
    counts = write_kg_pairs(graph, out, config, terms, nodes)
    return {
        **counts,
        "synthetic_vocabulary_excluded": exclude_synthetic,
        "icd10_eval_codes_excluded": len(nodes),
    }


@click.command(name="build-kg-pairs")
@click.option(
    "--kg",
    "kg_spec",
    default="starter",
    show_default=True,
    help="'starter' (the bundled starter KG) or a saved knowledge graph folder.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output JSONL of training examples (rewritten whole); the held-out queries go to "
    "<out stem>.holdout.jsonl beside it.",
)
@click.option(
    "--holdout",
    default=0.2,
    show_default=True,
    type=float,
    help="Share of concepts (same_as groups) held out: their terms never appear in training.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the held-out choice.")
@click.option("--reverse", is_flag=True, help="Also the name -> synonyms direction (the name as an anchor).")
@click.option(
    "--exclude-synthetic/--keep-synthetic",
    default=True,
    show_default=True,
    help="Leave out the synthetic cohort generator's condition names, synonyms and abbreviations.",
)
@click.option(
    "--exclude-icd10-eval",
    default=300,
    show_default=True,
    type=int,
    help="Leave out the concepts and texts of the N codes `emerge retriever eval-icd10 --limit N` "
    "asks about with its default --seed 0; 0 keeps them.",
)
def build_kg_pairs(
    kg_spec: str,
    out: str,
    holdout: float,
    seed: int,
    reverse: bool,
    exclude_synthetic: bool,
    exclude_icd10_eval: int,
) -> None:
    """Knowledge-alignment pairs: each KG synonym (query side) -> its concept's preferred names, for
    `emerge retriever train --config configs/retriever/kg_align_minilm.yaml`; prints the counts as JSON."""
    _echo(kg_pairs_file(kg_spec, out, holdout, seed, reverse, exclude_synthetic, exclude_icd10_eval))


COMMANDS: list = [build_stage1, build_stage2, build_qa, build_kg_pairs]
