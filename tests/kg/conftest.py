"""Tiny graphs and a deterministic encoder for the kg tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kg.build import build_graph

FIXTURES = Path(__file__).parent / "fixtures"


def hashed_bag_encoder(dim: int = 64):
    """Deterministic bag-of-words encoder: each lower-cased word hashes to a fixed random unit
    vector; a text is the normalized sum. Texts sharing words have high cosine."""

    def vec(word: str) -> np.ndarray:
        seed = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
        return np.random.default_rng(seed).standard_normal(dim)

    def encode(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), dim), dtype=np.float64)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i] += vec(w)
            if not t.split():
                out[i] = vec("<empty>")
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out.astype(np.float32)

    return encode


@pytest.fixture
def tiny_kg():
    """Five nodes: hypertension (phenotype + ICD disease), hypokalemia, CKD, and a drug."""
    nodes = pl.DataFrame({
        "key": ["HP:0000822", "I10", "E87.6", "N18.9", "DB00999"],
        "id": ["HP:0000822", "I10", "E87.6", "N18.9", "DB00999"],
        "type": ["effect/phenotype", "disease", "disease", "disease", "drug"],
        "name": ["Hypertension", "Essential (primary) hypertension", "Hypokalemia", "Chronic kidney disease", "Hydrochlorothiazide"],
        "source": ["HPO", "ICD10CM", "ICD10CM", "ICD10CM", "DrugBank"],
        "synonyms": [["High blood pressure", "HTN"], ["HTN"], ["low potassium"], ["CKD"], []],
        "definition": ["Increased pressure in the systemic arterial system.", None, "Low blood potassium.", None, None],
        "description": [None, None, "Serum potassium below 3.5 mmol/L.", None, None],
    })
    rows = [
        ("I10", "HP:0000822", "same_as", "same as"), ("HP:0000822", "I10", "same_as", "same as"),
        ("I10", "N18.9", "disease_disease", "associated with"), ("I10", "DB00999", "indication", "treated by"),
        ("I10", "E87.6", "disease_disease", "associated with"), ("DB00999", "E87.6", "drug_effect", "side effect"),
        ("E87.6", "N18.9", "is_a", "is a"),
    ]
    edges = pl.DataFrame(rows, schema=["head", "tail", "relation", "display_relation"], orient="row")
    return build_graph(nodes, edges, name="tiny")


@pytest.fixture
def bag_encoder():
    return hashed_bag_encoder()


@pytest.fixture
def make_bag_encoder():
    return hashed_bag_encoder
