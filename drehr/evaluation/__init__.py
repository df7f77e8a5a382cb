"""Retrieval evaluation: BEIR and CliniQ readers, CliniQ's corpus builder, CliniQ's metrics, standard IR
metrics, BM25 and fusion baselines, and the ICD-10-CM semantic search benchmark."""

from drehr.evaluation.beir import read_beir
from drehr.evaluation.cliniq_corpus import build_cliniq_corpus
from drehr.evaluation.cliniq_data import MATCH_TYPES, read_cliniq
from drehr.evaluation.cliniq_metrics import (
    average_precision,
    multi_patient_metrics,
    ndcg_cliniq,
    recall_at_k,
    reciprocal_rank,
    single_patient_metrics,
)
from drehr.evaluation.dataset import RetrievalDataset, patient_of_chunk
from drehr.evaluation.runner import evaluate_scorer
from drehr.evaluation.scorers import BM25Scorer, DenseScorer, FusionScorer, reciprocal_rank_fusion
from drehr.evaluation.standard_metrics import standard_metrics

__all__ = [
    "read_beir",
    "read_cliniq",
    "build_cliniq_corpus",
    "MATCH_TYPES",
    "RetrievalDataset",
    "patient_of_chunk",
    "evaluate_scorer",
    "BM25Scorer",
    "DenseScorer",
    "FusionScorer",
    "reciprocal_rank_fusion",
    "standard_metrics",
    "reciprocal_rank",
    "ndcg_cliniq",
    "average_precision",
    "recall_at_k",
    "multi_patient_metrics",
    "single_patient_metrics",
]
