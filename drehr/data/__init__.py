"""Training data for the retriever: stage I (knowledge injection from a KG), stage II (LLM-written
entities) and the QA recipe, all written as resumable JSONL of `TrainingExample`s, and the one
reader (`read_examples`) that training uses too.

`read_notes` / `note_chunks` read a notes table; `build_stage1_file`, `build_stage2_file` and
`build_qa_file` turn one into a JSONL file (the library behind `emerge retriever build-*`). Where an
LLM is needed it is a `TextFn` (`list[str] -> list[str]`) passed in.
"""

from drehr.data.examples import ExampleWriter, TrainingExample, completed_ids, concept_label, read_examples
from drehr.data.files import build_qa_file, build_stage1_file, build_stage2_file
from drehr.data.llm_runner import PromptUnit, TextFn, run_llm_recipe
from drehr.data.notes import PATIENT_COLUMNS, note_chunks, read_notes
from drehr.data.qa import parse_questions, qa_units, split_sections
from drehr.data.stage1 import KnowledgeSource, Stage1Config, build_stage1_examples
from drehr.data.stage2 import parse_entity_list, stage2_prompt, stage2_units

__all__ = [
    "ExampleWriter",
    "TrainingExample",
    "completed_ids",
    "concept_label",
    "read_examples",
    "build_stage1_file",
    "build_stage2_file",
    "build_qa_file",
    "PATIENT_COLUMNS",
    "read_notes",
    "note_chunks",
    "PromptUnit",
    "TextFn",
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
