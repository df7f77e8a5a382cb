"""Experiment configs (every shipped one loads and instantiates) and `run_experiment` end to end."""

import json
import logging

import polars as pl
import pytest
import yaml
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

from emerge.cli import cli
from emerge.data.build import build_dataset
from emerge.experiment.config import CONFIGS, ExperimentConfig, apply_overrides, load_experiment, reads
from emerge.experiment.demo import demo_config
from emerge.experiment.runner import run_experiment
from emerge.experiment.stages import Run, data_stage, summary_task
from emerge.models.build import build_model
from emerge.models.config import InputDims
from foundation.errors import UserInputError
from tests.helpers.fakes import FakeBackend
from tests.helpers.kg import ward_kg
from tests.helpers.mimic import iv_root, physionet_layout
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
        assert config.rag.summaries == "per_task" and config.seeds == 3  # EMERGE: a summary per task
        assert all(summary_task(task, Run(exp, path)) in path.stem for task in config.tasks)
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
    mimic = ExperimentConfig.from_yaml(CONFIGS / "experiment" / "mimic_iv_mortality.yaml").resolve()
    # the demo has no note module and the experiment's models read notes: refused before any work
    with pytest.raises(UserInputError, match=r"models of mimic_iv_mortality read notes but no note table"):
        data_stage(Run(mimic, tmp_path / "out", root=MIMIC_IV_DEMO))
    assert not (tmp_path / "out" / "dataset").exists()
    # with MIMIC-IV-Note beside it, as PhysioNet lays it out, the notes are found
    root = physionet_layout(tmp_path / "dl", MIMIC_IV_DEMO)
    # the 100-patient demo leaves no death in the validation split: refused before any training
    with pytest.raises(UserInputError, match=r"val split: \d+ stays, 0 with mortality"):
        data_stage(Run(mimic, tmp_path / "out", root=root))
    info = json.loads((tmp_path / "out" / "dataset" / "dataset.json").read_text())
    assert info["counts"]["stays"] > 0 and info["counts"]["notes"] == info["counts"]["stays"]
    assert info["notes_from"]["origin"] == "found beside --root" and info["exclusions"]["no_notes"] == 0


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
            "--seeds",
            "3",
            "--check",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "demo: ready to run; 9 models x 2 tasks x 3 seeds" in result.output
        and "LLM: transformers" in result.output
    )
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
        tasks=["mortality", "readmission"],
        models=["model/ts_only.yaml", "model/emerge_full.yaml"],
        seeds=2,
        reference="ts_only",
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
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["tasks"]["mortality"]["models"]["emerge_full"]["auroc_mean"] == pytest.approx(
        metrics["tasks"]["mortality"]["models"]["emerge_full"]["auroc_mean"]
    )

    # EMERGE writes a summary per task: each task's prompts name its own outcome
    for task in ("mortality", "readmission"):
        summaries = pl.read_parquet(out / "rag" / f"summaries-{task}" / "summaries.parquet")
        assert summaries["summary"].str.starts_with("Summary: ").all()
        assert (out / "cache" / "embeddings" / f"summary-{task}").is_dir()
    prompts = backend.calls
    n_stays = summaries.height
    assert 0 < len(prompts) <= 2 * n_stays  # one call per distinct prompt
    assert any("mortality" in p and "readmission" not in p for p in prompts)
    assert any("readmission" in p and "mortality" not in p for p in prompts)

    def roc_auc(task: str, name: str) -> float:
        runs = [
            pl.read_parquet(p) for p in sorted((out / "runs" / task / name).glob("seed*/predictions.parquet"))
        ]
        test = [r.filter(pl.col("split") == "test").sort("stay_id") for r in runs]
        prob = sum(t["y_prob"].to_numpy() for t in test) / len(test)
        return roc_auc_score(test[0]["y_true"].to_numpy(), prob)

    # every model trained once per seed; the report gives mean ± std and the paired comparison
    for task in ("mortality", "readmission"):
        body = metrics["tasks"][task]
        assert body["reference"] == "ts_only" and set(body["models"]) == {"ts_only", "emerge_full"}
        for name, entry in body["models"].items():
            assert entry["seeds"] == [exp.trainer.seed, exp.trainer.seed + 1]
            aurocs = [r["auroc"] for r in entry["per_seed"]]
            assert entry["auroc_mean"] == pytest.approx(sum(aurocs) / 2)
            assert entry["auroc_std"] == pytest.approx(abs(aurocs[0] - aurocs[1]) / 2**0.5)
            assert set(entry["subgroups"]) == {"sex", "age"}
            for seed in entry["seeds"]:
                assert (out / "runs" / task / name / f"seed{seed}" / "predictions.parquet").is_file()
        assert "vs_reference" not in body["models"]["ts_only"]
        vs = body["models"]["emerge_full"]["vs_reference"]
        assert set(vs) == {"auroc", "auprc", "delong_auroc", "per_seed"}
        assert vs["auroc"]["diff"] == pytest.approx(
            roc_auc(task, "emerge_full") - roc_auc(task, "ts_only")
        )  # on the seed ensembles (mean probability over the seeds)
        assert (out / f"forest_{task}.png").stat().st_size > 0
    table = (out / "metrics.md").read_text()
    seeds = f"({exp.trainer.seed}, {exp.trainer.seed + 1})"
    assert f"mean ± std over 2 seeds {seeds}" in table and "each model against ts_only" in table

    # on a synthetic cohort the report scores the note concepts against the generator's ground truth
    from emerge.data.dataset import EHRDataset
    from emerge.rag.concept_truth import stay_mentions

    dataset = EHRDataset(out / "dataset")
    with_mentions = stay_mentions(out / "synthetic", dataset.notes)["stay_id"].unique()
    concepts = metrics["note_concepts"]
    mode = exp.config.rag.settings.entity_mode
    assert concepts["configured"]["mode"] == mode
    assert concepts["configured"]["stays"] == with_mentions.len() > 0
    assert ("matcher" in concepts) == (mode != "matcher")  # the exact matcher as the baseline
    for c in concepts.values():
        assert 0.0 <= c["recall"] <= 1.0 and 0.0 <= c["precision"] <= 1.0
    assert "Note concepts against the synthetic ground truth" in table
    assert f"| {mode} (this run) | {with_mentions.len()} |" in table

    # A rerun repeats nothing: no LLM call, the same metrics from the finished runs.
    again = FakeBackend(reply=lambda text, s: "changed")
    rerun = run_experiment(exp, llm_backend=again).metrics
    assert json.dumps(rerun, sort_keys=True) == json.dumps(metrics, sort_keys=True)  # NaN-safe equality
    assert again.calls == []


def test_per_task_summaries_refuse_a_fixed_summary_task():
    body = yaml.safe_load((CONFIGS / "experiment" / "demo.yaml").read_text())
    body["rag"]["settings"]["task"] = "mortality"
    with pytest.raises(ValueError, match="rag.summaries is 'per_task'.*rag.summaries: one"):
        ExperimentConfig.model_validate(body)
    body["rag"]["summaries"] = "one"
    assert ExperimentConfig.model_validate(body).rag.settings.task == "mortality"


@pytest.mark.parametrize("seeds", [0, [1, 1], [-1]])
def test_seeds_must_be_a_count_or_distinct_seeds(seeds):
    body = yaml.safe_load((CONFIGS / "experiment" / "demo.yaml").read_text())
    body["seeds"] = seeds
    with pytest.raises(ValueError, match="seeds must be"):
        ExperimentConfig.model_validate(body)


def test_seed_list_counts_from_the_trainer_seed():
    config = load_experiment("demo", ["seeds=3"])
    assert config.seed_list(7) == (7, 8, 9)
    assert load_experiment("demo", ["seeds=[4, 2]"]).seed_list(7) == (4, 2)


def test_a_reference_that_is_not_a_model_is_refused_and_null_means_no_comparison():
    with pytest.raises(UserInputError, match="reference 'concat' of demo is not one of its models"):
        load_experiment("demo", ["reference=concat", "models=[model/ts_only.yaml]"]).resolve()
    assert load_experiment("demo", ["reference=null"]).resolve().config.reference is None
    # the default reference may be absent (no comparisons); one named on purpose may not
    body = yaml.safe_load((CONFIGS / "experiment" / "demo.yaml").read_text())
    del body["reference"]
    body["models"] = ["model/notes_only.yaml"]
    assert ExperimentConfig.model_validate(body).resolve().models.keys() == {"notes_only"}


def test_the_mimic_experiments_require_notes_and_the_demo_does_not():
    for path in EXPERIMENTS:
        build = ExperimentConfig.from_yaml(path).data.build
        assert build.cohort.require_notes == (path.stem != "demo"), path.stem
        assert build.labels.readmission_death == ("date_of_death" if path.stem == "demo" else "in_hospital")
        leaks = path.stem.endswith("_emerge_text")
        assert build.include_discharge_notes == leaks, path.stem
        if leaks:  # EMERGE's MIMIC-IV text: discharge summaries, the leakage said in the file itself
            assert build.note_tables_iv == ("discharge",) and "LEAKAGE" in path.read_text()
    names = {p.stem for p in EXPERIMENTS}
    assert {"mimic_iv_mortality_emerge_text", "mimic_iv_readmission_emerge_text"} <= names


def test_emerge_text_experiment_warns_of_the_leak_on_every_build(tmp_path, caplog):
    exp = load_experiment("mimic_iv_readmission_emerge_text")
    root = iv_root(tmp_path / "iv")  # stay 111's admission has a discharge summary, after the window
    for _ in range(2):  # built, then reused: the warning is logged both times
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="emerge.data"):
            out = build_dataset(root, tmp_path / "ds", exp.data.build)
        assert any("leak the outcome" in r.getMessage() for r in caplog.records)
    notes = pl.read_parquet(out / "notes.parquet")
    assert notes["note_id"].to_list() == ["1-DS-1"] and notes["hours_from_intime"].item() > 48
    result = CliRunner().invoke(
        cli,
        ["run", "--config", "mimic_iv_readmission_emerge_text", "--check", "--root", str(root)]
        + ["--llm", "llm/smollm2.yaml", "--out", str(tmp_path / "run")],
    )
    assert result.exit_code == 0, result.output
    assert "include_discharge_notes: discharge summaries, written after the window, leak" in result.output


def test_run_check_and_data_stage_stop_without_notes_naming_where_they_looked(tmp_path):
    src = iv_root(tmp_path / "src", notes=False)
    root = physionet_layout(tmp_path / "dl", src, notes=False)
    config = str(CONFIGS / "experiment" / "mimic_iv_mortality.yaml")
    check = ["run", "--config", config, "--check", "--root", str(root), "--llm", "llm/smollm2.yaml"]
    result = CliRunner().invoke(cli, [*check, "--out", str(tmp_path / "run")])
    message = str(result.exception)
    assert isinstance(result.exception, UserInputError) and "read notes but no note table" in message
    assert str(root / "note/radiology.csv.gz") in message
    assert str(tmp_path / "dl/physionet.org/files/mimic-iv-note/2.2/note/discharge.csv.gz") in message
    exp = load_experiment(config).resolve()
    with pytest.raises(UserInputError, match="read notes but no note table was found"):
        data_stage(Run(exp, tmp_path / "out", root=root))
    assert not (tmp_path / "out" / "dataset").exists()
    # --note-root (run) / data.note_root (YAML): the notes are read from there
    physionet_layout(tmp_path / "other", src)
    note = tmp_path / "other/physionet.org/files/mimic-iv-note/2.2/note"
    result = CliRunner().invoke(cli, [*check, "--out", str(tmp_path / "run"), "--note-root", str(note)])
    assert result.exit_code == 0, result.output
    assert f"note tables: radiology, discharge from {note} (--note-root)" in result.output
    with_root = load_experiment(config, [f"data.note_root={note}"]).resolve()
    assert with_root.config.data.note_root == str(note)


def test_encoder_device_options_are_checked_and_shared(tmp_path, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    config = load_experiment("demo", ["text.device=cpu", "rag.linker_device=auto"])
    assert config.text.device == "cpu" and config.rag.linker_device == "auto"
    for key in ("text.device", "rag.linker_device"):
        with pytest.raises(
            UserInputError, match=rf"{key.split('.')[-1]}.*not one of auto, cpu, cuda, cuda:N"
        ):
            load_experiment("demo", [f"{key}=gpu"])
    run = Run(config.resolve(), tmp_path)
    encoder = run.encoder("default", config.text.device)
    assert run.encoder("default", config.rag.linker_device) is encoder  # "auto" is the CPU here: one copy
    assert encoder.device.type == "cpu"
    with pytest.raises(UserInputError, match="none is visible"):
        run.encoder("default", "cuda")


@pytest.mark.gpu
def test_text_device_puts_the_encoder_on_cuda(tmp_path):
    config = load_experiment("demo", ["text.device=cuda", "rag.linker_device=cpu"])
    run = Run(config.resolve(), tmp_path)
    assert run.encoder("default", config.text.device).device.type == "cuda"
    assert run.encoder("default", config.rag.linker_device).device.type == "cpu"
    assert run.encoder("default", "auto") is run.encoder("default", "cuda")


def test_run_check_refuses_the_shipped_vllm_example_model(tmp_path, monkeypatch):
    import importlib.util

    from emerge.experiment.preflight import check_experiment

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else real_find_spec(name, *a)
    )
    exp = load_experiment("mimic_iv_mortality").resolve()
    assert exp.llm.backend == "vllm" and str(exp.llm.model) == "/models/Qwen2.5-7B-Instruct"
    if exp.llm.model.exists():
        pytest.skip(f"{exp.llm.model} exists on this machine")
    with pytest.raises(
        UserInputError, match=r"- model /models/Qwen2.5-7B-Instruct not found; check `model:`"
    ):
        check_experiment(exp, root=MIMIC_IV_DEMO, out=tmp_path / "run")
