"""train_and_evaluate end to end on tiny synthetic data: smoke runs, learning, reuse, resume."""

from __future__ import annotations

import json

import lightning as L
import pytest

from emerge.models import VARIANTS, ModelConfig, load_model
from emerge.training import TrainerConfig, train_and_evaluate
from foundation.errors import UserInputError

SMALL = dict(hidden_dim=8, num_heads=2, dropout=0.0)


def _trainer(**kw):
    base = dict(
        max_epochs=8, batch_size=16, accelerator="cpu", n_bootstrap=50, patience=8, log_every_n_steps=1
    )
    return TrainerConfig(**{**base, **kw})


@pytest.mark.parametrize("variant", VARIANTS)
def test_fast_dev_run_every_variant(tmp_path, tiny_data, variant):
    result = train_and_evaluate(
        tiny_data,
        ModelConfig(variant=variant, **SMALL),
        _trainer(fast_dev_run=True),
        tmp_path,
        task="mortality",
    )
    preds = result.predictions["mortality"]
    assert preds["y_prob"].shape == (12,) and ((preds["y_prob"] > 0) & (preds["y_prob"] < 1)).all()
    assert (tmp_path / "metrics.json").is_file()


def test_trained_model_beats_chance_and_writes_everything(tmp_path, tiny_data):
    result = train_and_evaluate(
        tiny_data, ModelConfig(variant="emerge_full", **SMALL), _trainer(lr=1e-2), tmp_path, task="multitask"
    )
    m = json.loads((tmp_path / "metrics.json").read_text())["tasks"]
    assert set(m) == {"mortality", "readmission"}
    mort = m["mortality"]["models"]["emerge_full"]
    assert mort["auroc"] > 0.75, mort  # the synthetic signal is strong; chance is 0.5
    assert mort["n"] == 12 and mort["auroc_ci"][0] <= mort["auroc_ci"][1]
    assert result.best_checkpoint and "best-epoch" in result.best_checkpoint
    for name in (
        "predictions.parquet",
        "metrics.md",
        "plots/mortality_roc.png",
        "logs/version_0/metrics.csv",
        "checkpoints/last.ckpt",
        "model/model.safetensors",
    ):
        assert (tmp_path / name).is_file(), name
    model, outputs = load_model(tmp_path / "model")
    assert outputs == ("mortality", "readmission") and model.config.variant == "emerge_full"
    csv = (tmp_path / "logs/version_0/metrics.csv").read_text()
    assert "val/mortality_auprc" in csv


class _CountEpochs(L.Callback):
    def __init__(self, fail_after: int | None = None):
        self.started: list[int] = []
        self.fail_after = fail_after

    def on_train_epoch_start(self, trainer, pl_module):
        self.started.append(trainer.current_epoch)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        # Killed in the middle of epoch fail_after + 1, after last.ckpt of epoch fail_after was saved.
        if self.fail_after is not None and trainer.current_epoch == self.fail_after + 1:
            raise RuntimeError("simulated kill")


def test_killed_run_resumes_from_last_checkpoint_and_finished_run_is_reused(tmp_path, tiny_data):
    model_cfg, trainer_cfg = ModelConfig(variant="ts_only", **SMALL), _trainer(max_epochs=4, patience=10)
    killer = _CountEpochs(fail_after=1)
    with pytest.raises(RuntimeError, match="simulated kill"):
        train_and_evaluate(tiny_data, model_cfg, trainer_cfg, tmp_path, extra_callbacks=[killer])
    assert killer.started == [0, 1, 2] and (tmp_path / "checkpoints/last.ckpt").is_file()
    assert not (tmp_path / "metrics.json").exists()

    counter = _CountEpochs()
    train_and_evaluate(tiny_data, model_cfg, trainer_cfg, tmp_path, extra_callbacks=[counter])
    assert counter.started == [2, 3]  # epochs 0 and 1 were not trained again; 2 restarts

    again = _CountEpochs()
    result = train_and_evaluate(tiny_data, model_cfg, trainer_cfg, tmp_path, extra_callbacks=[again])
    assert again.started == []  # finished: nothing retrained
    assert result.predictions["mortality"]["y_prob"].shape == (12,)
    assert result.best_checkpoint and "best-epoch" in result.best_checkpoint

    with pytest.raises(UserInputError, match="other settings"):
        train_and_evaluate(tiny_data, model_cfg, trainer_cfg.model_copy(update={"lr": 0.5}), tmp_path)


def test_bad_task_and_missing_masks_are_refused(tmp_path, tiny_data):
    import dataclasses

    with pytest.raises(UserInputError, match="unknown task"):
        train_and_evaluate(tiny_data, ModelConfig(**SMALL), _trainer(), tmp_path, task="mortalty")
    no_mask = dataclasses.replace(tiny_data, x_mask=None)
    with pytest.raises(UserInputError, match="use_obs_mask"):
        train_and_evaluate(no_mask, ModelConfig(**SMALL), _trainer(), tmp_path)


@pytest.mark.gpu
def test_gpu_fit_and_predict(tmp_path, tiny_data):
    cfg = _trainer(accelerator="gpu", max_epochs=2, precision="bf16-mixed")
    result = train_and_evaluate(tiny_data, ModelConfig(variant="emerge_full", **SMALL), cfg, tmp_path)
    assert result.predictions["mortality"]["y_prob"].shape == (12,)


class _CtrlC(L.Callback):
    """Presses Ctrl-C in the middle of epoch 2 (after last.ckpt of epoch 1 was saved)."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch == 2:
            raise KeyboardInterrupt


def test_ctrl_c_during_training_is_an_interrupt_and_the_rerun_resumes(tmp_path, tiny_data):
    """Lightning turns Ctrl-C into sys.exit(1) and ignores SIGINT afterwards; we keep it a
    KeyboardInterrupt."""
    import signal

    model_cfg, trainer_cfg = ModelConfig(variant="ts_only", **SMALL), _trainer(max_epochs=4, patience=10)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        train_and_evaluate(tiny_data, model_cfg, trainer_cfg, tmp_path, extra_callbacks=[_CtrlC()])
    assert signal.getsignal(signal.SIGINT) is handler  # Ctrl-C still works afterwards
    assert (tmp_path / "checkpoints/last.ckpt").is_file() and not (tmp_path / "metrics.json").exists()
    counter = _CountEpochs()
    train_and_evaluate(tiny_data, model_cfg, trainer_cfg, tmp_path, extra_callbacks=[counter])
    assert counter.started == [2, 3]


def test_the_cli_reports_an_interrupt_with_the_documented_message(tmp_path, monkeypatch, capsys):
    import emerge.data.synth as synth
    from emerge.cli import INTERRUPTED, main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(synth, "generate", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "synth", "--out", str(tmp_path / "s"), "--stays", "20"])
    assert exit_info.value.code == 130 and INTERRUPTED in capsys.readouterr().err


def test_a_damaged_finished_run_is_produced_again(tmp_path, tiny_data):
    model_cfg, trainer_cfg = ModelConfig(variant="ts_only", **SMALL), _trainer(max_epochs=2, patience=10)
    first = train_and_evaluate(tiny_data, model_cfg, trainer_cfg, tmp_path)
    (tmp_path / "predictions.parquet").write_bytes(b"PAR1 damaged")
    counter = _CountEpochs()
    again = train_and_evaluate(tiny_data, model_cfg, trainer_cfg, tmp_path, extra_callbacks=[counter])
    assert counter.started == []  # resumed at the end of training: only prediction and report again
    assert (again.predictions["mortality"]["y_prob"] == first.predictions["mortality"]["y_prob"]).all()
    last = tmp_path / "checkpoints" / "last.ckpt"
    data = bytearray(last.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0xFF for b in data[mid : mid + 64])  # still loads, with wrong weights
    last.write_bytes(bytes(data))
    (tmp_path / "metrics.json").unlink()
    counter = _CountEpochs()
    train_and_evaluate(tiny_data, model_cfg, trainer_cfg, tmp_path, extra_callbacks=[counter])
    assert counter.started == [0, 1]  # the checkpoint is not what was written: trained from the start
