"""Small data for the retriever tests (library and CLI), worded from the tiny BERT's vocabulary.

- `CHUNKS`: seven note chunks of three patients; `c_1` is blank and is never indexed. Worded so that the
  toy encoder's rankings can be worked out by hand.
- `EXAMPLES`: eight training anchors, each with the concepts it names as positives.
"""

from __future__ import annotations

import polars as pl

from drehr.training import TrainingExample

CHUNKS = pl.DataFrame(
    {
        "chunk_id": ["a_0", "a_1", "a_2", "b_0", "b_1", "c_0", "c_1"],
        "patient_id": ["a", "a", "a", "b", "b", "c", "c"],
        "text": [
            "heart failure with reduced ejection",
            "knee pain after a fall",
            "chronic kidney disease",
            "atrial fibrillation on warfarin",
            "acute heart failure exacerbation",
            "sepsis from pneumonia",
            "  ",
        ],
    }
)

EXAMPLES = [
    TrainingExample("patient has heart failure and chest pain", ("heart failure", "chest pain", "cardiac")),
    TrainingExample("acute kidney disease renal", ("kidney disease", "renal")),
    TrainingExample("fever and cough with pneumonia", ("pneumonia", "lung infection", "fever")),
    TrainingExample("diabetes with high glucose was given insulin", ("diabetes", "insulin", "glucose")),
    TrainingExample("history of copd and asthma", ("copd", "asthma")),
    TrainingExample("stroke with high blood pressure", ("stroke", "blood pressure")),
    TrainingExample("anemia in chronic liver disease", ("anemia", "liver disease")),
    TrainingExample("sepsis from infection", ("sepsis", "infection")),
]
