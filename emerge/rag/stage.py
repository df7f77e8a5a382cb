"""The RAG stage over a built dataset: entities -> linked KG nodes -> knowledge -> summary, per stay.

The output folder (kind "emerge_rag", claimed by `rag_folder`) holds three cached steps
(`foundation.outputs.cached_step`), each a subfolder whose manifest records the key it was made with
(a hash of the previous step's key, the dataset, the graph, the settings and the models) and the
checksums of what it wrote; a rerun with the same key and whole files skips the step, a changed
setting or a damaged file redoes it. LLM calls go through the persistent SQLite cache
(`OUT/llm_cache.sqlite`, `emerge.llm.cache`), so a killed run resumes without repeating a prompt.

- entities/entities.parquet      stay_id, source ("timeseries" | "notes"), entity, count, phrase,
                                 node_id, evidence_id, evidence, evidence_score (see `ENTITY_SCHEMA`)
- linked/linked.parquet          the entity columns + node_name, score (node_id null: nothing passed)
- summaries-<task>/summaries.parquet
                                 stay_id, task, summary, prompt_sha, model, features, diseases, nodes,
                                 trimmed, gaps, prompt

A stay without notes, without abnormal values or with nothing linked still gets a summary from what
exists; what was missing is listed in `gaps`, never a crash.

Note entities come from EMERGE's LLM NER ("llm"), the KG term matcher ("matcher"), both ("union"), or
DR.EHR-style retrieval of KG concepts from the stay's note chunks ("retriever",
`emerge.rag.retriever_entities`). In every mode a modifier or qualifier term ("acute", "right",
"position": `KnowledgeGraph.qualifier_ids`) is never a disease entity, and linking never lands on one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emerge.data.dataset import EHRDataset
from emerge.data.variables import NUMERIC_VARIABLES, VARIABLES
from emerge.rag.note_entities import NER_PROMPT, extract_note_entities, ner_prompts
from emerge.rag.prompts import DiseaseKnowledge, build_summary_prompt, summary_goal, summary_template_id
from emerge.rag.ts_entities import abnormal_features
from foundation.artifacts import cache_root as default_cache_root
from foundation.artifacts import stable_hash
from foundation.errors import UserInputError
from foundation.inputs import reading
from foundation.outputs import cached_step, check_whole, claim_folder, read_manifest

__all__ = [
    "RagSettings",
    "ENTITY_SCHEMA",
    "stay_notes",
    "run_entities",
    "run_linking",
    "run_summaries",
    "rag_folder",
    "step_path",
    "read_step",
    "remove_step",
    "RAG_KIND",
    "STEPS",
]

logger = logging.getLogger(__name__)

RAG_KIND = "emerge_rag"
STEPS = {
    "entities": ("entities", "entities.parquet"),
    "link": ("linked", "linked.parquet"),
    "summarize": ("summaries-{task}", "summaries.parquet"),
}
"""step -> (folder under the RAG output folder, parquet file in it)."""
_STEP_VERSION = 2  # 2: entity rows carry node_id and their evidence chunk
ENTITY_SCHEMA = {
    "stay_id": pl.Int64,
    "source": pl.Utf8,  # "timeseries" | "notes"
    "entity": pl.Utf8,  # the mention (llm, matcher), the node's name (retriever), the feature's term
    "count": pl.Int64,  # occurrences in the notes (llm, matcher), chunks passing (retriever), abnormal hours
    "phrase": pl.Utf8,  # "heart rate too high"; the mention; retriever: the note phrase that matched best
    # (unit "phrase") or the concept's best-scoring KG surface form (unit "chunk")
    "node_id": pl.Utf8,  # known in retriever mode (linking passes it through), else null
    "evidence_id": pl.Utf8,  # chunk id `<note_id>_<i>` of the evidence chunk (null for time-series rows)
    "evidence": pl.Utf8,  # that chunk's text: the first holding the mention, or the best-scoring one
    "evidence_score": pl.Float64,  # retriever: the chunk's cosine with the concept; null for literal mentions
}
"""The columns of entities.parquet (linked.parquet adds node_name and score)."""
_PREREQUISITE = {"link": "entities", "summarize": "link"}
_COMMAND = {
    "entities": "emerge rag entities --data DATASET",
    "link": "emerge rag link",
    "summarize": "emerge rag summarize --data DATASET",
}


def rag_folder(out: str | Path) -> Path:
    """The RAG output folder, created (and marked as ours) if needed; a user's folder is refused."""
    out = Path(out)
    claim_folder(out, RAG_KIND, what="RAG output folder")
    return out


def step_path(out: str | Path, step: str, task: str = "generic") -> Path:
    """The folder of `step` ("entities", "link", "summarize") under the RAG output folder `out`."""
    folder, _ = STEPS[step]
    return Path(out) / folder.format(task=task)


class RagSettings(BaseModel):
    """Settings of the RAG stage (EMERGE's values where EMERGE has one: the piece size and count of its
    NER, the linking threshold, 10 nodes and 5 triples; `max_new_tokens` is ours).

    entity_mode: "llm" (EMERGE's NER), "matcher" (kg term matcher), "union" (both), "retriever" (KG
        concepts retrieved from the stay's note chunks with a sentence encoder; no LLM).
    concept_unit: retriever mode: what is searched, "phrase" (each phrase of a chunk, between punctuation
        and function words: best for the bundled MiniLM) or "chunk" (the whole 100-word chunk, as DR.EHR
        embeds it: for an encoder trained that way).
    concept_threshold / concept_top_k: retriever mode: the cosine a query must reach with a concept, and
        the concepts kept per query; None: the values calibrated for the bundled MiniLM per unit
        (`emerge.rag.retriever_entities.CALIBRATED`; benchmarks/results/patient_concepts.md). Calibrate
        another encoder with benchmarks/patient_concepts.py --aligned-model.
    concept_dtype: retriever mode: precision of the one-off embedding of the KG's surface forms; "auto" is
        bfloat16 on CUDA and on CPUs with hardware bfloat16 (about half the float32 time on such a CPU:
        benchmarks/results/patient_concepts.md), else float32.
    link_threshold: cosine above which the dense top-1 is accepted (EMERGE: 0.6 MIMIC-III, 0.7 IV).
    dense_linking: False links only exact name/synonym matches, skipping the one-off embedding of
        every KG surface form (~120k for the starter KG; minutes on a CPU) - the demo's choice.
    knowledge_types: node types whose knowledge enters the prompt (EMERGE: diseases; the starter KG
        holds many conditions as HPO phenotypes, so both by default).
    max_prompt_tokens: prompt budget; None = the model's context window minus max_new_tokens.
    evidence_per_concept: retriever mode: the best-scoring evidence snippets of the patient's own notes
        quoted per disease in the summary prompt (each about 25 words around the matched phrase); 0
        leaves them out. Entities found by the matcher or the LLM carry no score and add no evidence.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_mode: Literal["llm", "matcher", "union", "retriever"] = "llm"
    concept_unit: Literal["phrase", "chunk"] = "phrase"
    concept_threshold: float | None = Field(None, ge=-1, le=1)
    concept_top_k: int | None = Field(None, gt=0)
    concept_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    evidence_per_concept: int = Field(2, ge=0)
    z_threshold: float = Field(2.0, gt=0)
    piece_words: int = Field(2000, gt=0)
    max_pieces: int = Field(4, gt=0)
    link_threshold: float = Field(0.7, ge=-1, le=1)
    link_types: tuple[str, ...] = ("disease", "effect/phenotype")
    dense_linking: bool = True
    knowledge_types: tuple[str, ...] = ("disease", "effect/phenotype")
    max_nodes: int = Field(10, ge=0)
    max_triples: int = Field(5, ge=0)
    task: str = "generic"
    max_new_tokens: int = Field(128, gt=0)
    max_prompt_tokens: int | None = Field(None, gt=0)
    seed: int = 0

    @field_validator("task")
    @classmethod
    def _known_task(cls, task: str) -> str:
        try:
            summary_goal(task)
        except UserInputError as exc:
            raise ValueError(str(exc)) from None
        return task


def _step_kind(step: str) -> str:
    return f"rag_{STEPS[step][0].split('-')[0]}"


def remove_step(out: str | Path, step: str, task: str = "generic") -> None:
    """Delete a finished step's folder (only the files emerge wrote in it), e.g. to time it again."""
    from foundation.outputs import remove_owned

    remove_owned(step_path(out, step, task), _step_kind(step), f"RAG {step} folder")


def read_step(out: str | Path, step: str, task: str = "generic") -> tuple[pl.DataFrame, str]:
    """(table, key) of a finished step; a missing or damaged one is an error naming the command to run."""
    folder = step_path(out, step, task)
    manifest = read_manifest(folder)
    if manifest is None or manifest.kind != _step_kind(step):
        raise UserInputError(
            f"{folder} not found: the {step!r} step has not run for {out}; run "
            f"`{_COMMAND[step]} --out {out}` first"
        )
    check_whole(folder, _step_kind(step), f"RAG {step} output", f"run `{_COMMAND[step]} --out {out}` again")
    with reading(folder / STEPS[step][1], f"RAG {step} table", ours=True):
        return pl.read_parquet(folder / STEPS[step][1]), str(manifest.key)


def _check_same_dataset(out: Path, dataset: EHRDataset) -> None:
    """Summaries are written for the stays the entities were found for: refuse another dataset."""
    info = read_manifest(step_path(out, "entities")).info
    if info.get("dataset_key") not in (None, _dataset_key(dataset)):
        raise UserInputError(
            f"the entities in {out} were found in the dataset {info.get('dataset')}, "
            f"not in {dataset.path}; pass --data {info.get('dataset')}, "
            f"or run `emerge rag entities --data {dataset.path} --out {out}` first"
        )


def _cached(
    out: Path,
    step: str,
    key: str,
    make: Callable[[], pl.DataFrame],
    info: dict[str, Any],
    task: str = "generic",
) -> pl.DataFrame:
    """Reuse the step's folder when its key matches and its file is whole; else compute and write it."""
    frame: list[pl.DataFrame] = []

    def build(tmp: Path) -> dict[str, Any]:
        frame.append(make())
        frame[0].write_parquet(tmp / STEPS[step][1])
        return info

    result = cached_step(
        step_path(out, step, task), _step_kind(step), _STEP_VERSION, key, build, what=f"RAG {step} folder"
    )
    if result.reused:
        logger.info("%s up to date in %s", step, result.path)
        return read_step(out, step, task)[0]
    return frame[0]


def _dataset_key(dataset: EHRDataset) -> str:
    return str(
        dataset.info.get("key") or stable_hash(dataset.info.get("inputs"), dataset.info.get("settings"))
    )


def _kg_key(kg) -> str:
    """The graph's whole content: entities depend on its surface forms, summaries on its definitions,
    descriptions and triples, so any change to any of them redoes the steps."""
    return kg.content_fingerprint()


def _ts_entities(dataset: EHRDataset, settings: RagSettings) -> list[dict[str, Any]]:
    names = dataset.feature_names
    cols = [names.index(v.name) for v in NUMERIC_VARIABLES]
    mask_cols = [[v.name for v in VARIABLES].index(v.name) for v in NUMERIC_VARIABLES]
    variables = [v.name for v in NUMERIC_VARIABLES]
    labels = [v.label for v in NUMERIC_VARIABLES]
    rows = []
    for i, stay in enumerate(dataset.stay_id):
        z = dataset.x[i][:, cols]  # [48, 12] z-scores (imputed where unobserved)
        observed = dataset.x_mask[i][:, mask_cols].astype(bool)  # [48, 12]
        for f in abnormal_features(z, observed, variables, labels, settings.z_threshold):
            rows.append(
                {
                    "stay_id": int(stay),
                    "source": "timeseries",
                    "entity": f.clinical_term or f.phrase,
                    "count": f.count,
                    "phrase": f.phrase,
                }
            )
    return rows


def run_entities(
    dataset: EHRDataset,
    out: str | Path,
    settings: RagSettings,
    kg=None,
    backend=None,
    cache=None,
    sampling=None,
    encoder=None,
    cache_root: str | Path | None = None,
) -> pl.DataFrame:
    """Entities of every stay: abnormal time-series values and disease mentions in the notes.

    kg: needed by "matcher", "union" and "retriever"; with "llm" it is optional and, when given, drops
        the LLM's qualifier terms ("acute", "right").
    backend, cache, sampling: the LLM of "llm" and "union".
    encoder: the sentence encoder of "retriever" (a `drehr.model.BiEncoder`); its surface-form index is
        cached under `cache_root` (default $EMERGE_CACHE/linkers, shared with the dense linker).
    """
    mode = settings.entity_mode
    if mode in ("matcher", "union", "retriever") and kg is None:
        raise UserInputError(f"entity_mode {mode!r} needs a knowledge graph (--kg)")
    if mode in ("llm", "union") and backend is None:
        raise UserInputError(f"entity_mode {mode!r} needs an LLM backend (--llm CONFIG)")
    if mode == "retriever" and encoder is None:
        raise UserInputError(
            "entity_mode 'retriever' needs a sentence encoder (--model default, or a trained folder)"
        )
    out = rag_folder(out)
    model = getattr(backend, "model_id", None) if mode in ("llm", "union") else None  # LLM unused otherwise
    encoder_name = str(encoder.fingerprint) if mode == "retriever" else None
    key = stable_hash(
        "entities",
        stable_hash(NER_PROMPT) if mode in ("llm", "union") else None,  # a new NER prompt redoes it
        _dataset_key(dataset),
        settings.model_dump(mode="json"),
        model,
        encoder_name,
        None if kg is None else _kg_key(kg),
    )

    def make() -> pl.DataFrame:
        root = Path(cache_root or default_cache_root() / "linkers")
        return _entities(dataset, settings, kg, backend, cache, sampling, encoder, root)

    return _cached(
        out,
        "entities",
        key,
        make,
        {
            "settings": settings.model_dump(mode="json"),
            "model": model,
            "encoder": encoder_name,
            "dataset": str(dataset.path),
            "dataset_key": _dataset_key(dataset),
        },
    )


def stay_notes(dataset: EHRDataset) -> dict[int, list[tuple[str, str]]]:
    """stay_id -> its (note_id, text) pairs in time order (the order of `dataset.notes_by_stay`)."""
    grouped = dataset.notes.group_by("stay_id", maintain_order=True).agg(pl.col("note_id"), pl.col("text"))
    return {
        stay: list(zip(ids, texts, strict=True))
        for stay, ids, texts in zip(
            grouped["stay_id"].to_list(), grouped["note_id"].to_list(), grouped["text"].to_list(), strict=True
        )
    }


def _entities(
    dataset: EHRDataset, settings: RagSettings, kg, backend, cache, sampling, encoder, cache_root: Path
) -> pl.DataFrame:
    from tqdm.auto import tqdm

    from emerge.rag.retriever_entities import literal_evidence, stay_chunks

    mode = settings.entity_mode
    rows = _ts_entities(dataset, settings)
    notes = stay_notes(dataset)
    stays = dataset.stay_id.tolist()
    chunks = {stay: stay_chunks(notes.get(stay, [])) for stay in stays}
    if mode == "retriever":
        from emerge.rag.retriever_entities import ConceptRetriever

        retriever = ConceptRetriever(
            kg,
            encoder,
            cache_root,
            list(settings.link_types),
            settings.concept_unit,
            settings.concept_threshold,
            settings.concept_top_k,
            settings.concept_dtype,
        )
        for stay, hits in retriever.retrieve(chunks, progress=True).items():
            rows += [
                {
                    "stay_id": stay,
                    "source": "notes",
                    "entity": h.node_name,
                    "count": h.chunks,
                    "phrase": h.mention,
                    "node_id": h.node_id,
                    "evidence_id": h.chunk_id,
                    "evidence": h.chunk_text,
                    "evidence_score": h.score,
                }
                for h in hits
            ]
        return _entity_frame(rows)

    match = None
    if mode in ("matcher", "union"):
        from kg.matching import TermMatcher

        match = TermMatcher(kg, skip_qualifiers=True).terms
    texts = {stay: [text for _, text in pairs] for stay, pairs in notes.items()}
    ask = None
    if mode in ("llm", "union"):
        from emerge.llm.structured import generate_entities

        # Every stay's NER prompts go to the LLM together (batched, cached, retried by round), then each
        # stay is answered from the results.
        prompts = list(
            dict.fromkeys(
                p
                for stay in stays
                for p in ner_prompts(
                    texts.get(stay, []), settings.seed + stay, settings.piece_words, settings.max_pieces
                )
            )
        )
        results = generate_entities(backend, prompts, sampling, cache=cache, progress=True) if prompts else []
        answers = {
            p: list(r.entities) if r.status == "parsed" else None
            for p, r in zip(prompts, results, strict=True)
        }

        def ask(stay_prompts: list[str]) -> list[list[str] | None]:
            return [answers[p] for p in stay_prompts]

    for stay in tqdm(stays, desc="note entities", unit="stay"):
        found = extract_note_entities(
            texts.get(stay, []),
            ask,
            seed=settings.seed + stay,
            piece_words=settings.piece_words,
            max_pieces=settings.max_pieces,
            mode=mode,
            match=match,
            drop=None if kg is None else kg.is_qualifier_term,
        )
        for e, c in found.entities:
            chunk = literal_evidence(e, chunks[stay])
            rows.append(
                {
                    "stay_id": stay,
                    "source": "notes",
                    "entity": e,
                    "count": c,
                    "phrase": e,
                    "evidence_id": None if chunk is None else chunk.chunk_id,
                    "evidence": None if chunk is None else chunk.text,
                }
            )
    return _entity_frame(rows)


def _entity_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    frame = pl.DataFrame([{c: r.get(c) for c in ENTITY_SCHEMA} for r in rows], schema=ENTITY_SCHEMA)
    logger.info("entities: %d rows for %d stays", frame.height, frame["stay_id"].n_unique())
    return frame


def run_linking(
    out: str | Path,
    kg,
    encoder: Callable[[list[str]], np.ndarray],
    encoder_name: str,
    settings: RagSettings,
    cache_root: str | Path | None = None,
) -> pl.DataFrame:
    """Link every distinct entity once; one row per (stay, entity)."""
    out = rag_folder(out)
    entities, entities_key = read_step(out, "entities")
    key = stable_hash(
        "link",
        entities_key,
        encoder_name,
        settings.link_threshold,
        settings.link_types,
        settings.dense_linking,
        _kg_key(kg),
    )

    def make() -> pl.DataFrame:
        return _link(
            entities,
            kg,
            encoder,
            encoder_name,
            settings,
            Path(cache_root or default_cache_root() / "linkers"),
        )

    return _cached(out, "link", key, make, {"encoder": encoder_name})


def _link(
    entities: pl.DataFrame, kg, encoder, encoder_name: str, settings: RagSettings, cache_root: Path
) -> pl.DataFrame:
    """Rows whose node is known (retriever mode) pass through with score 1.0 (the entity is the node's
    own name); the others are linked, each distinct entity once; a link to a qualifier node is dropped."""
    from kg.linking import cached_linker

    for col, dtype in ENTITY_SCHEMA.items():  # an entities table written before these columns existed
        if col not in entities.columns:
            entities = entities.with_columns(pl.lit(None, dtype=dtype).alias(col))
    known = entities["node_id"].is_not_null()
    distinct = entities.filter(~known)["entity"].unique(maintain_order=True).to_list()
    if distinct:
        linker = cached_linker(
            kg, encoder, cache_root, encoder_name, settings.link_threshold, list(settings.link_types)
        )
        if not settings.dense_linking:
            from foundation.terms import normalize_term

            surfaces = set(linker.surfaces)
            distinct = [e for e in distinct if normalize_term(e) in surfaces]
    records = {r["mention"]: r for r in linker.link(distinct)} if distinct else {}
    qualifiers = kg.qualifier_ids()
    for r in records.values():  # "acute" -> HP:0011009 "Acute" is no disease: left unlinked
        if r["node_id"] in qualifiers:
            r["node_id"] = r["node_name"] = None
    names = dict(zip(kg.nodes["id"].to_list(), kg.nodes["name"].to_list(), strict=True))

    def lookup(field: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col("entity").replace_strict(
            {m: r[field] for m, r in records.items()}, default=None, return_dtype=dtype
        )

    frame = entities.with_columns(
        pl.when(known).then(pl.col("node_id")).otherwise(lookup("node_id", pl.Utf8)).alias("node_id"),
        pl.when(known)
        .then(pl.col("node_id").replace_strict(names, default=None, return_dtype=pl.Utf8))
        .otherwise(lookup("node_name", pl.Utf8))
        .alias("node_name"),
        pl.when(known).then(pl.lit(1.0)).otherwise(lookup("score", pl.Float64)).alias("score"),
    )
    linked = frame["node_id"].is_not_null().sum()
    logger.info(
        "linked %d of %d entity rows (%d passed through with their node, %d distinct entities linked)",
        linked,
        frame.height,
        int(known.sum()),
        len(distinct),
    )
    return frame


def run_summaries(
    dataset: EHRDataset, out: str | Path, kg, backend, settings: RagSettings, cache=None, sampling=None
) -> pl.DataFrame:
    """Prompt the LLM for every stay's summary (cached, resumable) and store it with its provenance."""
    out = rag_folder(out)
    linked, linked_key = read_step(out, "link")
    _check_same_dataset(out, dataset)
    key = stable_hash(
        "summarize",
        summary_template_id(),  # a changed instruction or section layout redoes the step
        linked_key,
        backend.model_id,
        settings.model_dump(mode="json"),
        sampling.model_dump(mode="json"),
    )

    def make() -> pl.DataFrame:
        return _summaries(dataset, linked, kg, backend, settings, cache, sampling)

    return _cached(
        out, "summarize", key, make, {"model": backend.model_id, "task": settings.task}, task=settings.task
    )


_SNIPPET_WORDS = 12  # words kept on each side of the matched phrase


def snippet(chunk: str, phrase: str | None, words: int = _SNIPPET_WORDS) -> str:
    """About `2 * words` words of `chunk` around the first occurrence of `phrase` (case-insensitive);
    the chunk's first `2 * words` words when the phrase is not found."""
    tokens = chunk.split()
    target = (phrase or "").lower().split()
    lowered = [t.lower().strip(".,;:()") for t in tokens]
    for i in range(len(tokens) - len(target) + 1 if target else 0):
        if lowered[i : i + len(target)] == target:
            start = max(0, i - words)
            return " ".join(tokens[start : i + len(target) + words])
    return " ".join(tokens[: 2 * words])


def _evidence(rows: pl.DataFrame | None, per_concept: int) -> dict[str, list[dict]]:
    """node_id -> its best `per_concept` scored evidence snippets (distinct chunks, best first)."""
    if rows is None or per_concept == 0 or "evidence_score" not in rows.columns:
        return {}
    scored = rows.filter(pl.col("evidence_score").is_not_null() & pl.col("node_id").is_not_null())
    out: dict[str, list[dict]] = {}
    for r in scored.sort("evidence_score", descending=True, maintain_order=True).iter_rows(named=True):
        kept = out.setdefault(r["node_id"], [])
        if len(kept) < per_concept and all(e["evidence_id"] != r["evidence_id"] for e in kept):
            kept.append(
                {
                    "node_id": r["node_id"],
                    "evidence_id": r["evidence_id"],
                    "score": r["evidence_score"],
                    "snippet": snippet(r["evidence"] or "", r.get("phrase")),
                }
            )
    return out


def _summaries(
    dataset: EHRDataset, linked: pl.DataFrame, kg, backend, settings: RagSettings, cache, sampling
) -> pl.DataFrame:
    from emerge.llm.batch import run_batch
    from kg.retrieval import gather_knowledge

    budget = settings.max_prompt_tokens or max(64, backend.max_context_tokens - settings.max_new_tokens)
    by_stay = {s: g for (s,), g in linked.group_by("stay_id", maintain_order=True)}
    prompts, provenance = [], []
    for stay in dataset.stay_id.tolist():
        g = by_stay.get(stay)
        features = [] if g is None else g.filter(pl.col("source") == "timeseries")["phrase"].to_list()
        diseases = [] if g is None else g.filter(pl.col("source") == "notes")["entity"].to_list()
        nodes = (
            {}
            if g is None
            else {
                n: int(c)
                for n, c in g.filter(pl.col("node_id").is_not_null())
                .group_by("node_id", maintain_order=True)
                .agg(pl.col("count").sum())
                .iter_rows()
            }
        )
        knowledge = (
            gather_knowledge(
                kg,
                nodes,
                settings.max_nodes,
                settings.max_triples,
                settings.seed,
                node_types=list(settings.knowledge_types),
            )
            if nodes
            else []
        )
        evidence = _evidence(g, settings.evidence_per_concept)
        prompt = build_summary_prompt(
            settings.task,
            features,
            diseases,
            [
                DiseaseKnowledge(
                    k.name, k.document, k.triples, tuple(e["snippet"] for e in evidence.get(k.node_id, ()))
                )
                for k in knowledge
            ],
            backend.count_tokens,
            budget,
        )
        gaps = [
            name
            for name, empty in (
                ("no abnormal values", not features),
                ("no note entities", not diseases),
                ("nothing linked", not nodes),
                ("no knowledge", not knowledge),
                ("prompt over budget", not prompt.fits),
            )
            if empty
        ]
        prompts.append((stay, prompt.text))
        provenance.append(
            {
                "stay_id": stay,
                "task": settings.task,
                "prompt_sha": hashlib.sha256(prompt.text.encode()).hexdigest()[:16],
                "model": backend.model_id,
                "features": features,
                "diseases": diseases,
                "nodes": [k.node_id for k in knowledge],
                "evidence": json.dumps(
                    [
                        {key: e[key] for key in ("node_id", "evidence_id", "score")}
                        for k in knowledge
                        for e in evidence.get(k.node_id, ())
                    ]
                ),
                "trimmed": json.dumps(prompt.trimmed),
                "gaps": gaps,
                "prompt": prompt.text,
            }
        )
    outputs = run_batch(prompts, backend, sampling, cache=cache, desc="summaries")
    for row in provenance:
        text = outputs[row["stay_id"]].strip()
        row["summary"] = text
        if not text:
            row["gaps"] = [*row["gaps"], "empty LLM output"]
    frame = pl.DataFrame(provenance)
    n_gaps = sum(1 for r in provenance if r["gaps"])
    logger.info("summaries: %d stays (%d with a recorded gap)", frame.height, n_gaps)
    return frame
