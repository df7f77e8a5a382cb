"""Whole experiments: one YAML config (`config`), one function per stage (`stages`), the runner that
calls them in order (`runner`), the checks of `emerge run --check` (`preflight`) and the demo."""

from emerge.experiment.config import ExperimentConfig, ResolvedExperiment, load_experiment
from emerge.experiment.runner import ExperimentResult, run_experiment

__all__ = ["ExperimentConfig", "ResolvedExperiment", "load_experiment", "ExperimentResult", "run_experiment"]
