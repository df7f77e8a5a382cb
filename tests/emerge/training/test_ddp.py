"""DDP with 2 CPU processes (gloo; about 40 s on 2 cores) through train_and_evaluate, run in a
subprocess so that Lightning's launcher can start the second rank by re-running the script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers.paths import CONFIGS

CONFIG = CONFIGS / "trainer" / "ddp_cpu.yaml"

SCRIPT = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(1)
    from emerge.models import ModelConfig
    from emerge.training import TrainerConfig, make_synthetic_data, train_and_evaluate

    data = make_synthetic_data(n_stays=60, steps=8, features=6, obs_features=3, text_dim=8, seed=0)
    update = {"max_epochs": 2, "batch_size": 8, "n_bootstrap": 20}
    cfg = TrainerConfig.from_yaml(sys.argv[1]).model_copy(update=update)
    result = train_and_evaluate(data, ModelConfig(variant="emerge_full", hidden_dim=8, num_heads=2), cfg,
                                sys.argv[2], task="mortality")
    import torch.distributed as dist
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else -1
    n = len(result.predictions["mortality"]["y_prob"])
    print(f"RANK={rank} WORLD={dist.get_world_size() if rank >= 0 else 1} N={n}")
""")


@pytest.mark.slow  # ~40 s alone; puts the folder over its ~60 s budget
def test_ddp_two_cpu_processes(tmp_path):
    script = tmp_path / "ddp_run.py"
    script.write_text(SCRIPT)
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, str(script), str(CONFIG), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Both ranks ran in a 2-process group and each produced the full test predictions.
    assert "RANK=0 WORLD=2 N=12" in proc.stdout and "RANK=1 WORLD=2 N=12" in proc.stdout, proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tasks"]["mortality"]["models"]["emerge_full"]["n"] == 12
    assert (out / "checkpoints" / "last.ckpt").is_file()
