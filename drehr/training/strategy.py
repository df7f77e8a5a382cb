"""Lightning strategy and precision from a TrainConfig; DeepSpeed imported only when asked for."""

from __future__ import annotations

import importlib.util

from drehr.training.config import TrainConfig
from foundation.errors import UserInputError

__all__ = ["GPU_EXTRA_HINT", "require_deepspeed", "build_strategy"]

GPU_EXTRA_HINT = "install the GPU extra: pip install 'emerge-drehr[gpu]' (on a CUDA machine)"


def require_deepspeed() -> None:
    """Raise a UserInputError naming the `gpu` extra when deepspeed is not installed."""
    if importlib.util.find_spec("deepspeed") is None:
        raise UserInputError(
            f"strategy deepspeed_* needs the `deepspeed` package, which is not installed; "
            f"{GPU_EXTRA_HINT}, or use strategy: ddp."
        )


def build_strategy(config: TrainConfig):
    """ "auto"/"ddp_spawn" pass through; "ddp" without unused-parameter search; DeepSpeed ZeRO-2
    ("deepspeed_stage_2_offload" moves the optimizer state to CPU, with DeepSpeedCPUAdam)."""
    if config.strategy.startswith("deepspeed"):
        require_deepspeed()
        from lightning.pytorch.strategies import DeepSpeedStrategy

        return DeepSpeedStrategy(stage=2, offload_optimizer=config.strategy.endswith("_offload"))
    if config.strategy == "ddp":
        from lightning.pytorch.strategies import DDPStrategy

        return DDPStrategy(find_unused_parameters=False)
    return config.strategy
