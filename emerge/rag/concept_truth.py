"""Note concepts scored against the synthetic cohort's ground truth: per-stay recall and precision.

The synthetic cohort (`emerge data synth`) records every condition mention it writes into a note
(`truth/note_mentions.parquet`: note_id, condition, surface_form, match_type = string | synonym |
abbreviation). A stay's truth is the set of conditions mentioned in its in-window notes (the notes the
RAG stage reads). A predicted KG node is right when it is one of the condition's accepted nodes
(`accepted_nodes`): its ICD-10-CM codes, their ancestors within the 3-character category and their
descendants, the nodes with a name or synonym made of the same words as one of the condition's own surface
forms (any order and punctuation: OMIM's "Hypertension, essential" for "essential hypertension"), and the
same_as / maps_to neighbours of all these (HPO, ICD-9).

Recall: the share of a stay's conditions with at least one accepted node predicted, averaged over the
stays with a condition; precision: the share of a stay's predicted nodes accepted for some condition of
that stay, averaged over the stays with a prediction. The truth lists the cohort's latent conditions only,
so a true finding the notes also state (a symptom, "pleural effusion") counts against precision:
precision is a lower bound. Used by benchmarks/patient_concepts.py and by the experiment report of a
synthetic cohort (`note_concepts` in metrics.json).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

__all__ = [
    "accepted_nodes",
    "stay_mentions",
    "truth_pairs",
    "score_concepts",
    "linked_note_concepts",
    "matcher_links",
    "note_concepts_report",
]

TruthPairs = dict[int, dict[str, dict[str, Any]]]
"""stay -> condition -> {"types": match types of its mentions, "unseen": no mention is a KG term}."""


def accepted_nodes(kg) -> dict[str, set[str]]:
    """condition name -> the KG nodes that count as finding it (see the module docstring)."""
    from emerge.data.synth.conditions import CONDITIONS

    present = {name for name, _ in kg.relations}  # a user's KG may lack some of the starter KG's relations
    is_a = [r for r in ("is_a",) if r in present]
    same = [r for r in ("same_as", "maps_to") if r in present]

    def below(node: str) -> set[str]:
        out, frontier = {node}, [node]
        while frontier and is_a:
            for child in kg.neighbors(frontier.pop(), relation=is_a, direction="in"):
                if child not in out:
                    out.add(child)
                    frontier.append(child)
        return out

    def words(term: str) -> frozenset[str]:
        return frozenset(re.findall(r"\w+", term.lower()))

    by_words: dict[frozenset[str], set[str]] = {}  # "hypertension, essential" and "essential hypertension"
    for term, nodes in kg.surface_forms().items():
        by_words.setdefault(words(term), set()).update(nodes)
    qualifiers = kg.qualifier_ids()
    accepted = {}
    for c in CONDITIONS:
        core: set[str] = set()
        for code in c.icd10:
            if code not in kg:
                continue
            core |= below(code)
            frontier = [code]
            while frontier:
                for parent in kg.hypernyms(frontier.pop()):
                    if parent[:3] == code[:3] and "-" not in parent and parent not in core:
                        core.add(parent)
                        frontier.append(parent)
        for form in (c.name, *c.synonyms, *c.abbreviations):
            core |= by_words.get(words(form), set())
        for node in list(core) if same else ():
            core |= set(kg.neighbors(node, relation=same, direction="both"))
        accepted[c.name] = core - qualifiers
    return accepted


def stay_mentions(synthetic: str | Path, notes: pl.DataFrame) -> pl.DataFrame:
    """The ground-truth mentions of the in-window notes `notes` (a dataset's notes table: stay_id,
    note_id): stay_id, condition, surface_form, match_type. `synthetic` is the cohort's folder."""
    path = Path(synthetic) / "truth" / "note_mentions.parquet"
    mentions = pl.read_parquet(path)
    joined = notes.select("stay_id", "note_id").join(mentions, on="note_id")
    return joined.select("stay_id", "condition", "surface_form", "match_type")


def truth_pairs(mentions: pl.DataFrame, kg) -> TruthPairs:
    """stay -> condition -> {"types": match types of its mentions, "unseen": no mention is a KG term}."""
    out: TruthPairs = {}
    for stay, condition, form, kind in mentions.select(
        "stay_id", "condition", "surface_form", "match_type"
    ).iter_rows():
        entry = out.setdefault(stay, {}).setdefault(condition, {"types": set(), "unseen": True})
        entry["types"].add(kind)
        entry["unseen"] &= not kg.find(form)
    return out


def score_concepts(
    preds: Mapping[int, Mapping[str, float]],
    truth: TruthPairs,
    accepted: Mapping[str, set[str]],
    stays: Iterable[int],
    threshold: float = -2.0,
) -> dict[str, Any]:
    """Recall / precision over `stays` of the predicted nodes (stay -> node -> score) scoring >= threshold.

    Returns stays, recall and precision (per-stay means), micro_r / micro_p / f1 (pooled over stays),
    per_stay_nodes, `by` (match type or "seen surface" / "unseen surface" -> (recall, pairs)) and
    `wrong` (a Counter of predicted nodes accepted for no condition of their stay).
    """
    stays = list(stays)
    recalls, precisions, wrong = [], [], Counter()
    tp = n_pred = n_true = found = 0
    by: dict[str, list[bool]] = {}
    for stay in stays:
        conditions = truth.get(stay, {})
        nodes = {n for n, s in preds.get(stay, {}).items() if s >= threshold}
        right = set().union(*(accepted[c] for c in conditions)) if conditions else set()
        hit = {c: bool(nodes & accepted[c]) for c in conditions}
        if conditions:
            recalls.append(sum(hit.values()) / len(conditions))
        if nodes:
            precisions.append(len(nodes & right) / len(nodes))
        wrong.update(nodes - right)
        tp += len(nodes & right)
        n_pred += len(nodes)
        n_true += len(conditions)
        found += sum(hit.values())
        for c, entry in conditions.items():
            keys = [f"only {next(iter(entry['types']))}"] if len(entry["types"]) == 1 else []
            keys.append("unseen surface" if entry["unseen"] else "seen surface")
            for k in keys:
                by.setdefault(k, []).append(hit[c])
    micro_r = found / n_true if n_true else 0.0
    micro_p = tp / n_pred if n_pred else 0.0
    return {
        "stays": len(stays),
        "recall": statistics.fmean(recalls) if recalls else 0.0,
        "precision": statistics.fmean(precisions) if precisions else 0.0,
        "micro_r": micro_r,
        "micro_p": micro_p,
        "f1": 2 * micro_r * micro_p / (micro_r + micro_p) if micro_r + micro_p else 0.0,
        "per_stay_nodes": n_pred / len(stays) if stays else 0.0,
        "by": {k: (statistics.fmean(v), len(v)) for k, v in by.items()},
        "wrong": wrong,
    }


def linked_note_concepts(linked: pl.DataFrame) -> dict[int, dict[str, float]]:
    """stay -> linked node -> score, from the notes rows of a `linked.parquet` (any entity mode)."""
    rows = linked.filter((pl.col("source") == "notes") & pl.col("node_id").is_not_null())
    out: dict[int, dict[str, float]] = {}
    for stay, node, score in rows.select("stay_id", "node_id", "score").iter_rows():
        best = out.setdefault(stay, {})
        best[node] = max(best.get(node, -2.0), 1.0 if score is None else float(score))
    return out


def matcher_links(dataset, kg, folder: str | Path, settings=None) -> pl.DataFrame:
    """The exact KG term matcher's note entities, linked exactly (no encoder), written under `folder`
    (`entities/`, `linked/`): the baseline every other entity mode is compared with. `settings`: the
    RagSettings to start from (default: RagSettings()); its entity mode and dense linking are replaced."""
    import numpy as np

    from emerge.rag.stage import RagSettings, run_entities, run_linking

    base = (settings or RagSettings()).model_copy(update={"entity_mode": "matcher", "dense_linking": False})
    run_entities(dataset, folder, base, kg=kg)
    zero = lambda texts: np.zeros((len(texts), 1), np.float32)  # noqa: E731 - exact links never encode
    return run_linking(folder, kg, zero, "none", base, cache_root=Path(folder) / "unused")


def note_concepts_report(
    linked: Mapping[str, tuple[str, pl.DataFrame]], mentions: pl.DataFrame, kg, stays: Iterable[int]
) -> dict[str, dict[str, Any]]:
    """Each entity mode's note concepts (`linked`: key -> (mode, linked table)) scored on the stays of
    `stays` that have a mention in their in-window notes: key -> JSON-ready {mode, stays, recall,
    precision, micro_r, micro_p, per_stay_nodes, unseen_recall, unseen_pairs}."""
    truth = truth_pairs(mentions, kg)
    accepted = accepted_nodes(kg)
    scored = [s for s in stays if s in truth]
    keys = ("stays", "recall", "precision", "micro_r", "micro_p", "per_stay_nodes")
    out = {}
    for key, (mode, table) in linked.items():
        result = score_concepts(linked_note_concepts(table), truth, accepted, scored)
        unseen, pairs = result["by"].get("unseen surface", (0.0, 0))
        out[key] = {
            "mode": mode,
            **{k: result[k] for k in keys},
            "unseen_recall": unseen,
            "unseen_pairs": pairs,
        }
    return out
