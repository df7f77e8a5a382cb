"""`BiEncoderModule`: the thin LightningModule around a BiEncoder and a contrastive loss.

It embeds a batch (anchors on one side, positives on the other), gathers both across processes
when training is distributed (negatives come from every process), computes the loss over the
global batch and scales it by the world size so DDP's averaged gradient is the global gradient.
AdamW with linear warmup (10 % by default) then linear decay.
"""

from __future__ import annotations

import lightning as L
import torch

from drehr.losses import InfoNCELoss, MultiSimilarityLoss
from drehr.model import BiEncoder
from drehr.training.config import InfoNCESettings, MultiSimilaritySettings, TrainConfig
from drehr.training.distributed import gather_with_grad, world_size

__all__ = ["build_loss", "global_batch", "BiEncoderModule"]


def build_loss(settings: MultiSimilaritySettings | InfoNCESettings) -> torch.nn.Module:
    if isinstance(settings, MultiSimilaritySettings):
        return MultiSimilarityLoss(settings.alpha, settings.beta, settings.base, settings.margin)
    return InfoNCELoss(settings.temperature, settings.symmetric)


def global_batch(anchors: torch.Tensor, candidates: torch.Tensor, owner: torch.Tensor, labels: torch.Tensor):
    """Gather (anchors [A, d], candidates [N, d], owner [N], labels [N]) from every process.

    Owners are shifted by the number of anchors of lower ranks so they index the gathered anchors.
    """
    if world_size() == 1:
        return anchors, candidates, owner, labels
    all_anchors = gather_with_grad(anchors)
    offsets = gather_with_grad(torch.tensor([anchors.shape[0]], device=anchors.device))  # [W]
    my_offset = int(offsets[: torch.distributed.get_rank()].sum())
    all_owner = gather_with_grad(owner + my_offset)
    return all_anchors, gather_with_grad(candidates), all_owner, gather_with_grad(labels)


class BiEncoderModule(L.LightningModule):
    """Training steps and optimizers only; the network is the BiEncoder handed in."""

    def __init__(self, model: BiEncoder, config: TrainConfig) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self.loss_fn = build_loss(config.loss)
        self.save_hyperparameters({"train_config": config.model_dump(mode="json")})

    def on_train_epoch_start(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "set_epoch"):
            datamodule.set_epoch(self.current_epoch)

    def batch_loss(self, batch: dict) -> torch.Tensor:
        """Loss of one batch over the global (all-process) batch, scaled by the world size."""
        anchors = self.model(batch["anchor"])  # [A, d]
        candidates = self.model(batch["positive"])  # [N, d]
        owner, labels = batch["owner"], batch["labels"]
        if self.config.gather_across_processes and world_size() > 1:
            anchors, candidates, owner, labels = global_batch(anchors, candidates, owner, labels)
            return self.loss_fn(anchors, candidates, owner, labels) * world_size()
        return self.loss_fn(anchors, candidates, owner, labels)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self.batch_loss(batch)
        shown = loss / world_size() if self.config.gather_across_processes else loss
        self.log("train/loss", shown.detach(), prog_bar=True, batch_size=batch["owner"].shape[0])
        return loss

    def configure_optimizers(self):
        params = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups = [
            {"params": decay, "weight_decay": self.config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        if self.config.strategy == "deepspeed_stage_2_offload":
            from deepspeed.ops.adam import DeepSpeedCPUAdam

            optimizer = DeepSpeedCPUAdam(groups, lr=self.config.lr, adamw_mode=True)
        else:
            optimizer = torch.optim.AdamW(groups, lr=self.config.lr)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warmup = int(self.config.warmup_ratio * total)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            return max(0.0, (total - step) / max(total - warmup, 1))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
