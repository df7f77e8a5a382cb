"""What the tests share, imported as `from tests.helpers.<module> import ...`.

- `paths`: the repository root, the shipped configs and the committed fixture folders.
- `fakes`: deterministic LLM backends (no model needed).
- `llm_worker`: a subprocess script around `fakes` (`python -m tests.helpers.llm_worker`, from the root).
- `kg`: tiny knowledge graphs, built in memory in milliseconds.
- `mimic`: tiny MIMIC-IV / MIMIC-III roots written in their documented schemas.
- `notes`: three discharge notes (and their .csv.gz) for the retriever-data tests.
- `retrieval`: note chunks and training examples for the retriever tests.
- `toy_encoder`: a deterministic hashing encoder that follows `drehr.index.Encoder`.

The tiny BERT is not built here but once per session in `tests/conftest.py` (fixtures `tiny_bert_dir`,
read-only, and `tiny_bert_copy`, a private copy).
"""
