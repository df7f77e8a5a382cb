"""Every configs/trainer/*.yaml loads and builds a Lightning Trainer (GPU configs only with a GPU)."""

from __future__ import annotations

import pytest
import torch

from emerge.training import TrainerConfig, build_trainer, monitor_key
from foundation.errors import UserInputError
from tests.helpers.paths import CONFIGS

CONFIG_DIR = CONFIGS / "trainer"


def test_expected_trainer_configs_exist():
    assert {p.stem for p in CONFIG_DIR.glob("*.yaml")} >= {"default", "cpu_fast", "ddp_cpu", "gpu"}


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_trainer_config_loads_and_builds(path, tmp_path):
    cfg = TrainerConfig.from_yaml(path)
    if cfg.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU to build this Trainer")
    trainer, checkpoint = build_trainer(cfg, tmp_path, ("mortality",))
    assert trainer.max_epochs == cfg.max_epochs
    assert checkpoint is not None and checkpoint.monitor == "val/mortality_" + (cfg.monitor_metric or "auprc")
    assert checkpoint.save_last


def test_default_matches_emerge_recipe():
    # EMERGE's pipeline.ipynb: AdamW lr 1e-3, batch 256, 50 epochs, EarlyStopping(val AUROC, patience 5)
    for name in ("default.yaml", "gpu.yaml"):
        cfg = TrainerConfig.from_yaml(CONFIG_DIR / name)
        assert (cfg.lr, cfg.batch_size, cfg.max_epochs, cfg.n_bootstrap) == (1e-3, 256, 50, 1000)
        assert (cfg.monitor_metric, cfg.patience, cfg.weight_decay) == ("auroc", 5, 1e-2)
    # the demo's short recipe stops on AUROC too (benchmarks/results/fusion.md, round 6)
    assert TrainerConfig.from_yaml(CONFIG_DIR / "cpu_fast.yaml").monitor_metric == "auroc"


def test_monitor_key_follows_main_task_in_multitask():
    cfg = TrainerConfig(main_task="readmission", monitor_metric="auroc")
    assert monitor_key(cfg, ("mortality", "readmission")) == "val/readmission_auroc"
    assert monitor_key(cfg, ("mortality",)) == "val/mortality_auroc"


def test_tensorboard_without_package_is_a_clear_error(tmp_path):
    import importlib.util

    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        pytest.skip("tensorboard is installed")
    with pytest.raises(UserInputError, match="pip install tensorboard"):
        build_trainer(
            TrainerConfig(loggers=("csv", "tensorboard"), accelerator="cpu"), tmp_path, ("mortality",)
        )
