"""LoRA adapters through peft on a BiEncoder's backbone (merged into the base by `save_pretrained`)."""

from __future__ import annotations

import logging

from drehr.model import BiEncoder
from drehr.training.config import LoraSettings
from foundation.errors import UserInputError

__all__ = ["default_lora_targets", "apply_lora"]

logger = logging.getLogger(__name__)


def default_lora_targets(module_names: list[str]) -> tuple[str, ...]:
    """q_proj/v_proj for decoders (Mistral, Llama), query/value for BERT-style encoders."""
    leaves = {name.rsplit(".", 1)[-1] for name in module_names}
    for pair in (("q_proj", "v_proj"), ("query", "value")):
        if set(pair) <= leaves:
            return pair
    raise UserInputError(
        "no q_proj/v_proj or query/value modules found for LoRA; set lora.target_modules in the config "
        f"(some module names: {sorted(leaves)[:15]})."
    )


def apply_lora(model: BiEncoder, settings: LoraSettings) -> BiEncoder:
    """Wrap `model.backbone` in a peft LoRA model in place; only adapter weights stay trainable."""
    from peft import LoraConfig, get_peft_model

    targets = settings.target_modules or default_lora_targets([n for n, _ in model.backbone.named_modules()])
    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(targets),
        bias="none",
    )
    model.backbone = get_peft_model(model.backbone, config)
    trainable = sum(p.numel() for p in model.backbone.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.backbone.parameters())
    logger.info(
        "LoRA on %s: %d of %d parameters trainable (%.2f%%)",
        targets,
        trainable,
        total,
        100 * trainable / max(total, 1),
    )
    return model
