"""Tasks as objects: the registry, the built-in tasks, and a new task run end to end in one small file."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import yaml

from emerge.rag.prompts import build_summary_prompt
from emerge.tasks import MULTITASK, Task, get_task, register_task, resolve_tasks, task_names
from foundation.errors import UserInputError
from tests.helpers.fakes import FakeBackend


def test_builtin_tasks_read_the_cohort_columns_the_build_computed():
    cohort = pl.DataFrame({"mortality_inhospital": [1, 0, None], "readmission_30d": [0, 1, 1]})
    np.testing.assert_array_equal(get_task("mortality").labels(cohort), [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(get_task("readmission").labels(cohort), [0.0, 1.0, 1.0])
    assert [t.name for t in resolve_tasks(MULTITASK)] == ["mortality", "readmission"]
    assert {"mortality", "readmission"} <= set(task_names())
    with pytest.raises(UserInputError, match="lacks"):
        get_task("mortality").labels(pl.DataFrame({"x": [1]}))


def test_the_registry_refuses_duplicates_and_names_the_known_tasks():
    class Again(Task):
        name = "mortality"
        summary_goal = "x"
        positive_class = "x"

    with pytest.raises(UserInputError, match="already registered"):
        register_task(Again())
    with pytest.raises(UserInputError, match=r"unknown task 'survival'; registered tasks: \[.*'mortality'"):
        get_task("survival")

    class NoGoal(Task):
        name = "no_goal"
        positive_class = "x"

    with pytest.raises(UserInputError, match="summary_goal"):
        register_task(NoGoal())


def test_the_summary_prompt_serves_the_task():
    from tests.emerge.tasks.long_stay import LONG_STAY  # noqa: F401  (registers the task)

    prompt = build_summary_prompt("long_icu_stay", ["heart rate too high"], [], []).text
    assert "informative for predicting whether the ICU stay will last longer than five days" in prompt
    assert "in-hospital mortality" in build_summary_prompt("mortality", [], [], []).text


def test_a_new_task_runs_end_to_end(tmp_path):
    """One small file defines the task (tests/emerge/tasks/long_stay.py); the experiment names it,
    nothing else."""
    from emerge.experiment.config import CONFIGS, ExperimentConfig
    from emerge.experiment.runner import run_experiment
    from tests.emerge.tasks.long_stay import LONG_STAY  # noqa: F401

    trainer = tmp_path / "trainer.yaml"
    trainer.write_text(
        yaml.safe_dump(
            {
                "max_epochs": 2,
                "batch_size": 32,
                "patience": 2,
                "accelerator": "cpu",
                "n_bootstrap": 20,
                "log_every_n_steps": 1,
            }
        )
    )
    body = yaml.safe_load((CONFIGS / "experiment" / "demo.yaml").read_text())
    body.update(
        name="long_stay",
        out=str(tmp_path / "run"),
        trainer=str(trainer),
        tasks=["long_icu_stay"],
        models=["model/ts_only.yaml"],
    )
    body["rag"]["enabled"] = False
    body["data"]["synthetic"] = {"stays": 150, "seed": 2}
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(body))
    result = run_experiment(
        ExperimentConfig.from_yaml(tmp_path / "exp.yaml").resolve(), llm_backend=FakeBackend()
    )
    report = result.metrics["tasks"]["long_icu_stay"]["models"]["ts_only"]
    assert 0.0 <= report["auroc_mean"] <= 1.0 and report["n"] > 0
    folder = tmp_path / "run" / "runs" / "long_icu_stay" / "ts_only" / f"seed{report['seeds'][0]}"
    run = json.loads((folder / "run_config.json").read_text())
    assert run["task"] == "long_icu_stay"
    csv = folder / "logs" / "version_0" / "metrics.csv"
    assert "val/long_icu_stay_auroc" in csv.read_text()  # the task's own monitor metric
