"""Patient concepts by retrieval: a stay's own note chunks searched against the KG's surface forms.

DR.EHR (zhao-zy15/DR.EHR) trains a bi-encoder whose anchors are ~100-word note chunks and whose positives are
entity terms for the chunk: in stage I the KG (BIOS) terms matched in it and their abbreviation expansions,
plus KG synonyms, hypernyms and related concepts of each; in stage II the diagnoses, procedures and
prescriptions an LLM lists as explicitly mentioned or implicitly inferred. So a chunk lands near the concepts
it states or implies (synonyms, abbreviations, hypernyms, implications); CliniQ then ranks a patient's chunks
for an entity. Here it runs the other way, for one patient: every chunk of a stay
(`drehr.chunking.chunk_note`: a cleaning close to DR.EHR's, 100 words with a 10-word overlap, chunk ids
`<note_id>_<i>` as DR.EHR's for MIMIC-IV; short notes are kept, not skipped as DR.EHR's preprocessing skips
notes under 50 words) is searched in a `ConceptIndex` of the KG's surface forms.

The query unit:
- "chunk": the whole chunk is one query, as DR.EHR embeds it; meant for an encoder trained that way.
- "phrase" (default): the chunk is cut into phrases at punctuation and English function words ("history
  of HTN and T2DM, now with anemia" -> "HTN", "T2DM", "anemia"), each a query. Ours: a sentence encoder
  not trained for chunk -> entity retrieval (the bundled MiniLM) matches a short phrase to a concept name
  far better than a 100-word passage (benchmarks/results/patient_concepts.md: 92 % vs 20 % recall).
Per query the `top_k` nearest concepts are kept when their cosine reaches `threshold`; qualifier terms
("acute", "right": `KnowledgeGraph.qualifier_ids`) never are. A concept's score in a stay is its best over
the stay's queries, and that query's chunk is its evidence. Identical queries are embedded and searched
once per call, and a phrase that is exactly a KG name or synonym is not embedded at all: its own
surface form is its nearest (cosine 1).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from drehr.chunking import Chunk, chunk_note
from emerge.rag.concept_index import ConceptIndex, Dtype
from emerge.rag.note_entities import literal_count
from foundation.errors import UserInputError

__all__ = [
    "ConceptHit",
    "ConceptRetriever",
    "Unit",
    "CALIBRATED",
    "note_phrases",
    "stay_chunks",
    "literal_evidence",
]

logger = logging.getLogger(__name__)

Unit = Literal["phrase", "chunk"]
CALIBRATED: dict[str, tuple[float, int]] = {"phrase": (0.83, 1), "chunk": (0.55, 10)}
"""unit -> (threshold, top_k) for the bundled MiniLM: the threshold with the best micro-F1 on the
calibration stays of benchmarks/patient_concepts.py (see benchmarks/results/patient_concepts.md). Another
encoder needs its own: run that script with --aligned-model and pass the threshold it reports."""

_EXTRA = 8  # neighbours searched beyond top_k, so qualifiers and repeated nodes do not crowd a query out
_BATCH = 256  # queries embedded per encoder call
_MAX_PHRASE_WORDS = 8  # a longer phrase (no function word or punctuation inside) is cut into windows
_FUNCTION_WORDS = (
    "a an the and or but nor so yet of in on at by for with without within from to into onto over under "
    "about above below after before during since until than as via per versus vs is are was were be been "
    "being am has have had do does did will would shall should can could may might must not no none any "
    "some all this that these those it its he she his her him they them their we our you your who whom "
    "whose which what there here when where while if then also very more most less least such other same "
    "each every both either neither only just still now again further"
)
_SPLIT = re.compile(r"[.;:,()\[\]{}!?\"/]|\s-+\s|\b(?:" + "|".join(_FUNCTION_WORDS.split()) + r")\b", re.I)
_LETTER = re.compile(r"[^\W\d_]")


def note_phrases(text: str) -> list[str]:
    """The phrases of `text` between punctuation and function words, each with a letter, in text order;
    a phrase of more than 8 words becomes overlapping 8-word windows."""
    out = []
    for piece in _SPLIT.split(text):
        words = piece.split() if piece else []
        if not words or not _LETTER.search(piece):
            continue
        if len(words) <= _MAX_PHRASE_WORDS:
            out.append(" ".join(words))
            continue
        step = _MAX_PHRASE_WORDS // 2
        out += [" ".join(words[i : i + _MAX_PHRASE_WORDS]) for i in range(0, len(words) - step, step)]
    return out


def stay_chunks(notes: Sequence[tuple[str, str]], size: int = 100, overlap: int = 10) -> list[Chunk]:
    """(note_id, text) pairs of one stay, in time order -> 100-word chunks, every note kept however short."""
    return [c for note_id, text in notes for c in chunk_note(str(note_id), "", text, size, overlap, 1)]


def literal_evidence(entity: str, chunks: Sequence[Chunk]) -> Chunk | None:
    """The first chunk in which `entity` literally occurs (at word boundaries, any case), or None (e.g. a
    mention cut by a chunk border)."""
    return next((c for c in chunks if literal_count(entity, c.text.lower())), None)


@dataclass(frozen=True)
class ConceptHit:
    """One concept of a stay: the node; `mention`, the note's phrase that matched best (phrase unit) or
    the concept's best-scoring surface form (chunk unit); the cosine; the chunk it was found in (the
    evidence); in how many of the stay's chunks it passed."""

    node_id: str
    node_name: str
    mention: str
    score: float
    chunk_id: str
    chunk_text: str
    chunks: int


class ConceptRetriever:
    """Find KG concepts in stays' note chunks (see the module docstring).

    Args:
        kg: the knowledge graph.
        encoder: a sentence encoder (`drehr.model.BiEncoder`, or anything with `encode`, `fingerprint` and
            optionally `encode_queries`) giving float32 unit rows.
        cache_root: folder of the cached indexes (the linker's: $EMERGE_CACHE/linkers).
        types: node types a concept may have (None: all).
        unit: "phrase" or "chunk" (the query unit).
        threshold / top_k: the cosine a query must reach with a concept, and the concepts kept per query;
            None: `CALIBRATED[unit]`.
        dtype: precision of the one-off embedding of the KG's surface forms (`ConceptIndex`); the stays'
            queries are embedded in float32.
    """

    def __init__(
        self,
        kg,
        encoder: Any,
        cache_root: str | Path,
        types: Sequence[str] | None = None,
        unit: Unit = "phrase",
        threshold: float | None = None,
        top_k: int | None = None,
        dtype: Dtype = "float32",
    ) -> None:
        if kg is None:
            raise UserInputError("entity mode 'retriever' needs a knowledge graph (--kg)")
        if encoder is None or not hasattr(encoder, "encode"):
            raise UserInputError(
                "entity mode 'retriever' needs a sentence encoder (--model default, or a trained folder)"
            )
        if unit not in CALIBRATED:
            raise UserInputError(f"concept unit {unit!r}; valid: {', '.join(CALIBRATED)}")
        threshold = CALIBRATED[unit][0] if threshold is None else threshold
        top_k = CALIBRATED[unit][1] if top_k is None else top_k
        if not -1.0 <= threshold <= 1.0:
            raise UserInputError(f"concept threshold {threshold}; expected a cosine in [-1, 1]")
        if top_k < 1:
            raise UserInputError(f"concept top_k {top_k}; expected >= 1")
        self.encoder, self.unit, self.threshold, self.top_k = encoder, unit, float(threshold), int(top_k)
        self.index = ConceptIndex(kg, encoder, cache_root, types, dtype)

    def prepare(self) -> ConceptRetriever:
        """Load the cached concept index, or build it now (once per graph and encoder; embedding the
        starter KG's ~120k surface forms takes minutes on a CPU) rather than on the first `retrieve`."""
        self.index.prepare()
        return self

    def _queries(self, chunk: Chunk) -> list[str]:
        return [chunk.text] if self.unit == "chunk" else note_phrases(chunk.text)

    def _nearest(self, queries: list[str]) -> dict[str, list[tuple[int, float, int]]]:
        """query -> up to top_k (node position, cosine, surface row) passing the threshold, best first.

        A phrase that is exactly a KG name or synonym (case and spacing ignored) stands for that surface's
        concept with cosine 1 (its own vector) and is not embedded; if that concept is a qualifier, for
        nothing."""
        from foundation.terms import normalize_term
        from kg.linking import check_embeddings

        index = self.index.prepare()
        out: dict[str, list[tuple[int, float, int]]] = {}
        if self.unit == "phrase":
            rest = []
            for query in queries:
                row = index.exact.get(normalize_term(query))
                if row is None:
                    rest.append(query)
                    continue
                node = int(index.surface_node[row])
                out[query] = [] if index.qualifier[node] else [(node, 1.0, row)]
            queries = rest
        for start in range(0, len(queries), _BATCH):
            batch = queries[start : start + _BATCH]
            vectors = check_embeddings(self.encoder.encode(batch), len(batch))  # [b, d]
            scores, rows = index.search(vectors, self.top_k + _EXTRA)  # [b, top_k + extra]
            for query, srow, rrow in zip(batch, scores.tolist(), rows.tolist(), strict=True):
                kept: list[tuple[int, float, int]] = []
                for score, row in zip(srow, rrow, strict=True):
                    if row < 0 or score < self.threshold or len(kept) == self.top_k:
                        break
                    node = int(index.surface_node[row])
                    if not index.qualifier[node] and all(node != k[0] for k in kept):
                        kept.append((node, score, row))
                out[query] = kept
        return out

    def retrieve(
        self, chunks: Mapping[int, Sequence[Chunk]], progress: bool = False
    ) -> dict[int, list[ConceptHit]]:
        """stay -> its concepts, best score first (a stay without chunks maps to [])."""
        from tqdm.auto import tqdm

        asked = [(stay, c, q) for stay, cs in chunks.items() for c in cs for q in self._queries(c)]
        distinct = list(dict.fromkeys(q for _, _, q in asked))
        nearest: dict[str, list[tuple[int, float, int]]] = {}
        step = _BATCH * 8
        for start in tqdm(range(0, len(distinct), step), desc="concept retrieval", disable=not progress):
            nearest.update(self._nearest(distinct[start : start + step]))
        best: dict[int, dict[int, list]] = {
            stay: {} for stay in chunks
        }  # node -> [score, mention, chunk, ids]
        for stay, chunk, query in asked:
            for node, score, row in nearest[query]:
                mention = query if self.unit == "phrase" else self.index.surfaces[row]
                entry = best[stay].get(node)
                if entry is None:
                    best[stay][node] = [score, mention, chunk, {chunk.chunk_id}]
                    continue
                entry[3].add(chunk.chunk_id)
                if score > entry[0]:
                    entry[:3] = [score, mention, chunk]
        names, ids = self.index.node_names, self.index.node_ids
        return {
            stay: sorted(
                (
                    ConceptHit(ids[n], names[n], m, round(float(s), 4), c.chunk_id, c.text, len(seen))
                    for n, (s, m, c, seen) in nodes.items()
                ),
                key=lambda h: (-h.score, h.node_name.lower()),
            )
            for stay, nodes in best.items()
        }
