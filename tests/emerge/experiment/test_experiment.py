"""Experiment configs (every shipped one loads and instantiates) and `run_experiment` end to end."""

import json

import polars as pl
import pytest
import yaml
from click.testing import CliRunner

from emerge.cli import cli
from emerge.experiment.config import CONFIGS, ExperimentConfig, apply_overrides, load_experiment, reads
from emerge.experiment.demo import demo_config
from emerge.experiment.runner import run_experiment
from emerge.experiment.stages import Run, data_stage
from emerge.models.build import build_model
from emerge.models.config import InputDims
from foundation.errors import UserInputError
from tests.helpers.fakes import FakeBackend
from tests.helpers.kg import ward_kg
from tests.helpers.paths import MIMIC_IV_DEMO

EXPERIMENTS = sorted((CONFIGS / "experiment").glob("*.yaml"))


def test_the_shipped_experiments_cover_both_mimics_and_tasks_and_the_demo():
    names = {p.stem for p in EXPERIMENTS}
    assert {
        "demo",
        "mimic_iii_mortality",
        "mimic_iii_readmission",
        "mimic_iv_mortality",
        "mimic_iv_readmission",
    } <= names


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
def test_every_experiment_config_loads_and_instantiates(path):
    exp = ExperimentConfig.from_yaml(path).resolve()
    config = exp.config
    assert config.name == path.stem and exp.trainer.max_epochs >= 1
    if config.data.source == "mimic":
        assert config.data.build.version in path.stem and set(config.tasks) <= {"mortality", "readmission"}
        assert config.rag.settings.task in path.stem
    dims = InputDims(text_dim=384)
    for task in config.tasks:
        for name, model_config in exp.models.items():
            model = build_model(model_config, dims, 2 if task == "multitask" else 1)
            assert sum(p.numel() for p in model.parameters()) > 0, name
    assert exp.llm is not None and exp.needs_summaries


def test_config_errors_name_the_problem(tmp_path):
    body = yaml.safe_load((CONFIGS / "experiment" / "demo.yaml").read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**body, "models": ["model/no_such_model.yaml"]}))
    with pytest.raises(UserInputError, match="no_such_model.yaml.*not found"):
        ExperimentConfig.from_yaml(bad).resolve()
    bad.write_text(yaml.safe_dump({**body, "rag": {**body["rag"], "enabled": False}}))
    with pytest.raises(UserInputError, match="read the RAG summary but rag.enabled is false"):
        ExperimentConfig.from_yaml(bad).resolve()
    bad.write_text(yaml.safe_dump({**body, "kg": {"source": "primekg"}}))
    with pytest.raises(UserInputError, match="needs kg.path"):
        ExperimentConfig.from_yaml(bad)
    bad.write_text(yaml.safe_dump({**body, "tasks": ["survival"]}))
    with pytest.raises(UserInputError, match="tasks"):
        ExperimentConfig.from_yaml(bad)
    with pytest.raises(UserInputError, match="not found"):
        ExperimentConfig.from_yaml(tmp_path / "missing.yaml")
    mimic = ExperimentConfig.from_yaml(CONFIGS / "experiment" / "mimic_iv_mortality.yaml").resolve()
    with pytest.raises(UserInputError, match="pass --root"):
        data_stage(Run(mimic, tmp_path / "out"))


def test_mimic_experiment_builds_its_dataset_from_root(tmp_path):
    fixture = MIMIC_IV_DEMO
    mimic = ExperimentConfig.from_yaml(CONFIGS / "experiment" / "mimic_iv_mortality.yaml").resolve()
    # the 100-patient demo leaves no death in the validation split: refused before any training
    with pytest.raises(UserInputError, match=r"val split: \d+ stays, 0 with mortality"):
        data_stage(Run(mimic, tmp_path / "out", root=fixture))
    folder = tmp_path / "out" / "dataset"
    assert json.loads((folder / "dataset.json").read_text())["counts"]["stays"] > 0


def test_demo_overrides_and_no_summaries_drop_the_summary_models():
    config = demo_config("x", stays=80, seed=3, summaries=False)
    assert (config.out, config.data.synthetic.stays, config.data.synthetic.seed) == ("x", 80, 3)
    assert config.rag.settings.seed == 3 and not config.rag.enabled
    exp = config.resolve()
    assert exp.models and not exp.needs_summaries
    assert not any(reads(m, "summary") for m in exp.models.values())
    assert len(demo_config("x").resolve().models) > len(exp.models)


def test_configs_resolve_by_name_and_take_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # shipped configs are found from any working folder
    config = load_experiment(
        "demo", ["data.synthetic.stays=300", "tasks=[readmission]", "trainer=trainer/default"]
    )
    assert config.data.synthetic.stays == 300 and config.tasks == ("readmission",)
    assert (
        config.resolve().trainer.max_epochs
        == ExperimentConfig.from_yaml(CONFIGS / "experiment" / "mimic_iv_mortality.yaml")
        .resolve()
        .trainer.max_epochs
    )
    with pytest.raises(
        UserInputError, match=r"experiment config 'nope' not found.*demo, mimic_iii_mortality"
    ):
        load_experiment("nope")
    with pytest.raises(UserInputError, match=r"data.synthetic.stayz: Extra inputs are not permitted"):
        load_experiment("demo", ["data.synthetic.stayz=3"])
    with pytest.raises(UserInputError, match=r"--set 'name' is not KEY=VALUE"):
        load_experiment("demo", ["name"])
    with pytest.raises(UserInputError, match=r"--set 'name.x=1': name is not a section"):
        apply_overrides({"name": "demo"}, ["name.x=1"])
    assert apply_overrides({"a": {"b": 1}}, ["a.c=[1, 2]", "d=true"]) == {
        "a": {"b": 1, "c": [1, 2]},
        "d": True,
    }


def test_run_check_validates_without_running(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--config",
            str(CONFIGS / "experiment" / "demo.yaml"),
            "--out",
            str(tmp_path / "demo"),
            "--check",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "demo: ready to run; 7 models x 2 tasks" in result.output and "LLM: transformers" in result.output
    assert not (tmp_path / "demo").exists()  # nothing was run or written


def test_run_check_reports_every_missing_input_at_once(tmp_path):
    fixture = MIMIC_IV_DEMO  # has no note module
    config = str(CONFIGS / "experiment" / "mimic_iv_mortality.yaml")
    result = CliRunner().invoke(
        cli, ["run", "--config", config, "--check"]
    )  # no --root, placeholder vLLM model
    message = str(result.exception)
    assert result.exit_code != 0 and isinstance(result.exception, UserInputError)
    assert "cannot run (2 problems)" in message and "pass --root" in message and "vllm" in message
    result = CliRunner().invoke(
        cli, ["run", "--config", config, "--check", "--root", str(fixture), "--llm", "llm/smollm2.yaml"]
    )
    assert "read notes but" in str(result.exception) and "note/discharge" in str(result.exception)


def test_run_experiment_end_to_end_then_reuses_every_stage(tmp_path):
    trainer = tmp_path / "trainer.yaml"
    trainer.write_text(
        yaml.safe_dump(
            {
                "max_epochs": 2,
                "batch_size": 32,
                "patience": 2,
                "accelerator": "cpu",
                "loggers": ["csv"],
                "n_bootstrap": 20,
                "log_every_n_steps": 1,
            }
        )
    )
    body = yaml.safe_load((CONFIGS / "experiment" / "demo.yaml").read_text())
    body.update(
        name="tiny",
        out=str(tmp_path / "run"),
        kg={"source": "folder", "path": str(ward_kg().save(tmp_path / "kg"))},
        trainer=str(trainer),
        tasks=["mortality"],
        models=["model/ts_only.yaml", "model/emerge_full.yaml"],
    )
    body["data"]["synthetic"] = {"stays": 80, "seed": 1}
    body["text"]["max_chunks"] = 4
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(body))
    exp = ExperimentConfig.from_yaml(path).resolve()

    backend = FakeBackend(reply=lambda text, s: "Summary: " + text[-120:])
    result = run_experiment(exp, llm_backend=backend)
    metrics, out = result.metrics, tmp_path / "run"
    assert result.out == out and result.table == (out / "metrics.md").read_text()
    assert result.headline.startswith("tiny finished in")
    assert set(metrics["tasks"]["mortality"]["models"]) == {"ts_only", "emerge_full"}
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["tasks"]["mortality"]["models"]["emerge_full"]["auroc"] == pytest.approx(
        metrics["tasks"]["mortality"]["models"]["emerge_full"]["auroc"]
    )
    summaries = pl.read_parquet(
        out / "rag" / f"summaries-{exp.config.rag.settings.task}" / "summaries.parquet"
    )
    n_stays = summaries.height
    assert 0 < len(backend.calls) <= n_stays  # one call per distinct prompt
    assert summaries["summary"].str.starts_with("Summary: ").all()
    assert (out / "metrics.md").read_text().count("emerge_full") == 1
    for name in ("ts_only", "emerge_full"):
        assert (out / "runs" / "mortality" / name / "predictions.parquet").is_file()

    # A rerun repeats nothing: no LLM call, the same metrics from the finished runs.
    again = FakeBackend(reply=lambda text, s: "changed")
    assert run_experiment(exp, llm_backend=again).metrics == metrics
    assert again.calls == []
