"""Training data for the retriever: stage I (knowledge injection from a KG), stage II (LLM-written
entities) and the QA recipe, all written as resumable JSONL of `TrainingExample`s."""

from drehr.data.examples import ExampleWriter, TrainingExample, completed_ids, concept_label, read_examples
from drehr.data.llm_runner import PromptUnit, run_llm_recipe
from drehr.data.qa import parse_questions, qa_units, split_sections
from drehr.data.stage1 import KnowledgeSource, Stage1Config, build_stage1_examples
from drehr.data.stage2 import parse_entity_list, stage2_prompt, stage2_units

__all__ = [
    "ExampleWriter", "TrainingExample", "completed_ids", "concept_label", "read_examples",
    "PromptUnit", "run_llm_recipe", "parse_questions", "qa_units", "split_sections",
    "KnowledgeSource", "Stage1Config", "build_stage1_examples",
    "parse_entity_list", "stage2_prompt", "stage2_units",
]
