"""Training data for the retriever: stage I (knowledge injection from a KG), stage II (LLM-written
entities) and the QA recipe, all written as resumable JSONL of `TrainingExample`s, and the one
reader (`read_examples`) that training uses too.

`scan_notes` opens a notes file to stream (`read_notes` reads a small one whole); `iter_notes` /
`note_chunks` stream its notes and chunks. `build_stage1_file`, `build_stage2_file` and
`build_qa_file` turn one into a JSONL file (the library behind `emerge retriever build-*`), in
bounded memory, with a progress record beside the file (`drehr.data.progress`) so a rerun resumes
without reading it. Where an LLM is needed it is a `TextFn` (`list[str] -> list[str]`) passed in.
`write_kg_pairs` needs no notes: it pairs a knowledge graph's synonyms with their concepts' names
(knowledge alignment) and writes the synonyms of a held-out share of concepts as linking queries.
"""

from drehr.data.examples import (
    ExampleWriter,
    TrainingExample,
    completed_ids,
    concept_label,
    read_examples,
    scan_ids,
)
from drehr.data.files import build_qa_file, build_stage1_file, build_stage2_file
from drehr.data.kg_pairs import (
    HoldoutQuery,
    KGPairs,
    KGPairsConfig,
    holdout_path,
    icd10_benchmark_exclusions,
    read_holdout,
    write_kg_pairs,
)
from drehr.data.llm_runner import PromptUnit, TextFn, llm_work, run_llm_recipe
from drehr.data.notes import (
    PATIENT_COLUMNS,
    Notes,
    NotesFile,
    iter_notes,
    note_chunks,
    read_notes,
    scan_notes,
)
from drehr.data.progress import BuildCounts, Progress, ResumableJob, progress_path, run_resumable
from drehr.data.qa import parse_questions, qa_units, split_sections
from drehr.data.stage1 import KnowledgeSource, Stage1Config, build_stage1_examples
from drehr.data.stage2 import parse_entity_list, stage2_prompt, stage2_units

__all__ = [
    "ExampleWriter",
    "TrainingExample",
    "completed_ids",
    "concept_label",
    "read_examples",
    "scan_ids",
    "build_stage1_file",
    "build_stage2_file",
    "build_qa_file",
    "KGPairs",
    "KGPairsConfig",
    "HoldoutQuery",
    "write_kg_pairs",
    "read_holdout",
    "holdout_path",
    "icd10_benchmark_exclusions",
    "PATIENT_COLUMNS",
    "Notes",
    "NotesFile",
    "scan_notes",
    "read_notes",
    "iter_notes",
    "note_chunks",
    "BuildCounts",
    "Progress",
    "progress_path",
    "ResumableJob",
    "run_resumable",
    "PromptUnit",
    "TextFn",
    "llm_work",
    "run_llm_recipe",
    "parse_questions",
    "qa_units",
    "split_sections",
    "KnowledgeSource",
    "Stage1Config",
    "build_stage1_examples",
    "parse_entity_list",
    "stage2_prompt",
    "stage2_units",
]
