"""`EmergeLightningModule`: the thin Lightning wrapper (steps, metrics, optimizer) around any
`emerge.models` network. The network itself is a plain `nn.Module` passed in.

Logged keys: train/loss, val/loss, val/<task>_auroc, val/<task>_auprc (the early-stopping and
checkpoint monitor is val/<main_task>_<auprc|auroc>). Metrics are torchmetrics objects, so they
are gathered across processes under DDP.
"""

from __future__ import annotations

import lightning as L
import torch
from torch import nn
from torchmetrics.classification import BinaryAUROC, BinaryAveragePrecision

from emerge.training.loss import masked_bce_with_logits

__all__ = ["EmergeLightningModule"]


class EmergeLightningModule(L.LightningModule):
    def __init__(
        self,
        model: nn.Module,
        tasks: tuple[str, ...],
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        hparams: dict | None = None,
    ):
        super().__init__()
        self.model = model
        self.tasks = tuple(tasks)
        self.lr, self.weight_decay = lr, weight_decay
        self.save_hyperparameters(hparams or {})
        self.val_auroc = nn.ModuleDict({t: BinaryAUROC() for t in self.tasks})
        self.val_auprc = nn.ModuleDict({t: BinaryAveragePrecision() for t in self.tasks})

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.model(batch)  # [B, K] logits

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = masked_bce_with_logits(self(batch), batch["y"])
        self.log("train/loss", loss, on_step=True, on_epoch=True, batch_size=batch["y"].shape[0])
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        details = self.model.forward_details(batch)
        logits = details["logits"]
        y = batch["y"]  # [B, K]
        self._log_fusion_diagnostics(details, y.shape[0])
        self.log(
            "val/loss",
            masked_bce_with_logits(logits, y),
            on_epoch=True,
            sync_dist=True,
            batch_size=y.shape[0],
        )
        probs = torch.sigmoid(logits)
        for k, task in enumerate(self.tasks):
            known = ~torch.isnan(y[:, k])
            self.val_auroc[task].update(probs[known, k], y[known, k].long())
            self.val_auprc[task].update(probs[known, k], y[known, k].long())

    def _log_fusion_diagnostics(self, details: dict[str, torch.Tensor], batch_size: int) -> None:
        """Per modality: the mean gate weight (val/gate_<m>) and the mean norm of its pooled vector over
        the stays that have it (val/norm_<m>); the normalised entropy of the time-series -> text
        attention (val/attn_entropy: 1 = uniform over the valid text tokens, 0 = one token)."""
        names = getattr(self.model, "modality_names", None)
        log = dict(on_epoch=True, on_step=False, sync_dist=True, batch_size=batch_size)
        if names is not None and "gate" in details:
            for m, name in enumerate(names):
                self.log(f"val/gate_{name}", details["gate"][:, m].float().mean(), **log)
        if names is not None and "vectors" in details:
            norms = details["vectors"].float().norm(dim=-1)  # [B, M]
            present = details.get("present", torch.ones_like(norms, dtype=torch.bool))
            for m, name in enumerate(names):
                if present[:, m].any():
                    self.log(f"val/norm_{name}", norms[present[:, m], m].mean(), **log)
        weights = details.get("attn_ts_to_text")  # [B, Tq, Tk]
        if weights is not None and weights.dim() == 3 and weights.shape[-1] > 1:
            valid = (weights > 0).sum(dim=-1).float()  # [B, Tq] keys with weight
            rows = valid > 1
            if rows.any():
                entropy = -(weights.clamp_min(1e-12).log() * weights).sum(dim=-1)  # [B, Tq]
                self.log("val/attn_entropy", (entropy[rows] / valid[rows].log()).mean(), **log)

    def on_validation_epoch_end(self) -> None:
        for task in self.tasks:
            self.log(f"val/{task}_auroc", self.val_auroc[task].compute())
            self.log(f"val/{task}_auprc", self.val_auprc[task].compute())
            self.val_auroc[task].reset()
            self.val_auprc[task].reset()

    def on_predict_epoch_start(self) -> None:
        self._predicted: list[dict[str, torch.Tensor]] = []

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        out = {"stay_id": batch["stay_id"], "prob": torch.sigmoid(self(batch)).float(), "y": batch["y"]}
        self._predicted.append(out)
        return out

    def on_predict_epoch_end(self) -> None:
        """`self.predictions`: {"stay_id" [N], "prob" [N, K], "y" [N, K]} over every process's share.

        Under DDP each rank scored a padded share of the rows; they are gathered here, so every rank
        holds all of them (duplicates from the padding are dropped by the caller, by stay_id).
        """
        parts = {k: torch.cat([p[k] for p in self._predicted]) for k in ("stay_id", "prob", "y")}
        if self.trainer.world_size > 1:
            parts = {
                k: self.all_gather(v).flatten(0, 1) for k, v in parts.items()
            }  # [W, n, ...] -> [W n, ...]
        self.predictions = {k: v.cpu() for k, v in parts.items()}
        self._predicted = []

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
