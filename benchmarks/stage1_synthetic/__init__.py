"""DR.EHR stage I on the synthetic cohort: the library behind `benchmarks/retriever_synthetic.py`.

- `synthetic_cliniq`: a CliniQ-style retrieval benchmark from the synthetic cohort's notes and
  ground truth (`build_synthetic_cliniq`, `heldout_subjects`).
- `experiment`: cohort -> patient split -> stage I data -> training -> both models on the benchmark
  and on ICD-10-CM (`ExperimentConfig`, `run_experiment`, `results_table`), every step cached.
"""

from benchmarks.stage1_synthetic.experiment import (
    MATCH_TYPES,
    ExperimentConfig,
    results_table,
    run_experiment,
    split_subjects,
)
from benchmarks.stage1_synthetic.synthetic_cliniq import build_synthetic_cliniq, heldout_subjects

__all__ = [
    "ExperimentConfig",
    "run_experiment",
    "results_table",
    "split_subjects",
    "MATCH_TYPES",
    "build_synthetic_cliniq",
    "heldout_subjects",
]
