"""The EMERGE fusion network, its baselines and ablations: plain `nn.Module`s built from a
`ModelConfig` through a registry (see `emerge.models.config` for the variants)."""

from emerge.models.base import EmergeModel
from emerge.models.build import build_model
from emerge.models.concat import ConcatModel
from emerge.models.config import VARIANTS, InputDims, ModelConfig
from emerge.models.cross_attention import BidirectionalCrossAttention, CrossAttentionBlock
from emerge.models.fusion import EmergeFullModel, FusionNoSummaryModel
from emerge.models.gate import AdaptiveGate
from emerge.models.persistence import load_model, save_model
from emerge.models.registry import MODEL_REGISTRY, get_model_class, register_model
from emerge.models.released import EmergeReleasedModel
from emerge.models.ts_encoder import TimeSeriesEncoder
from emerge.models.unimodal import NotesOnlyModel, SummaryOnlyModel, TsOnlyModel

__all__ = [
    "ModelConfig",
    "InputDims",
    "VARIANTS",
    "build_model",
    "EmergeModel",
    "MODEL_REGISTRY",
    "register_model",
    "get_model_class",
    "TimeSeriesEncoder",
    "CrossAttentionBlock",
    "BidirectionalCrossAttention",
    "AdaptiveGate",
    "TsOnlyModel",
    "NotesOnlyModel",
    "SummaryOnlyModel",
    "ConcatModel",
    "EmergeFullModel",
    "FusionNoSummaryModel",
    "EmergeReleasedModel",
    "save_model",
    "load_model",
]
