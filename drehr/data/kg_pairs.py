"""Knowledge-alignment pairs: a knowledge graph's own surface forms as retriever training data.

Each synonym of a concept (an HPO synonym, an abbreviation, an ICD-10-CM inclusion term, a curated lay
term) becomes an anchor, encoded on the query side; its positives are the concept's preferred name and,
with `same_as`, the preferred names of the nodes joined to it by `same_as` edges (the same concept in
another ontology). The examples are ordinary `TrainingExample`s, read by `emerge retriever train` like
stage I's: every positive of one concept group carries that group's label, and an anchor string named
by several concepts is one example holding all their names, so training never pushes an anchor away from
a name of its own concept (drehr.training.data, drehr.losses.masks).

A concept group is a connected component of `same_as` edges (a node without one is its own group). A
deterministic share of the groups is held out: a group is held out when the hash of (seed, its smallest
node id) falls under `holdout`. No term of a held-out group (a name or a synonym, compared by
`normalize_term`) appears anywhere in the training examples; its synonyms are written as linking queries
with their gold node ids (`HoldoutQuery`), minus the synonyms that equal some node's preferred name (an
exact lookup finds those; no encoder is needed). Two more things are kept out of training:

- `exclude_terms`: strings that must never appear in an example (anchor or positive), e.g. the synthetic
  cohort's vocabulary, so a model is never trained on the words it is evaluated with;
- `exclude_nodes`: concepts that take no part at all (neither training nor held-out queries), e.g. the
  codes of the ICD-10-CM benchmark (`icd10_benchmark_exclusions`).

`KGPairs` holds the plan (groups, held-out share, withheld terms) and streams the examples and queries;
`write_kg_pairs` writes both files (the library behind `emerge retriever build-kg-pairs`). Memory grows
with the number of synonyms in the graph (the anchors are merged in a dict before they are written).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from drehr.data.examples import TrainingExample, concept_label
from foundation.artifacts import current_umask
from foundation.errors import UserInputError
from foundation.inputs import reading
from foundation.outputs import check_output_file, record_owned_file
from foundation.terms import normalize_term

if TYPE_CHECKING:
    from kg.graph import KnowledgeGraph

__all__ = [
    "KGPairsConfig",
    "HoldoutQuery",
    "KGPairs",
    "concept_groups",
    "is_held_out",
    "holdout_path",
    "write_kg_pairs",
    "read_holdout",
    "icd10_benchmark_exclusions",
]

logger = logging.getLogger(__name__)

SAME_AS = "same_as"
_COUNTED = (  # filled as the examples and queries are made
    "examples",
    "positives",
    "anchor_withheld",
    "positive_withheld",
    "anchor_excluded",
    "positive_excluded",
    "anchors_without_positive",
    "holdout_queries",
    "holdout_exact_names",
)


@dataclass(frozen=True)
class KGPairsConfig:
    """How pairs are made from a graph.

    holdout: share of concept groups held out (0 < holdout < 1).
    seed: the hash seed of the held-out choice (another seed, another held-out set).
    same_as: positives also hold the preferred names of the anchor's `same_as` group.
    reverse: also the name -> synonyms direction (the preferred name as an anchor, its synonyms as positives).
    """

    holdout: float = 0.2
    seed: int = 0
    same_as: bool = True
    reverse: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.holdout, (int, float)) or not 0.0 < float(self.holdout) < 1.0:
            raise UserInputError(
                f"holdout {self.holdout!r} is outside (0, 1); pass the share of concepts to hold out "
                "for evaluation, e.g. --holdout 0.2"
            )


@dataclass(frozen=True)
class HoldoutQuery:
    """A held-out synonym and the nodes it names (its group, and the groups of every node carrying it)."""

    query: str
    gold: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"query": self.query, "gold": list(self.gold)}, ensure_ascii=False)


def concept_groups(kg: KnowledgeGraph) -> dict[str, str]:
    """node id -> its group: the smallest node id of its connected component over `same_as` edges."""
    ids = kg.node_ids()
    parent = {node_id: node_id for node_id in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    if any(relation == SAME_AS for relation, _ in kg.relations):
        for node_id in ids:
            for other in kg.neighbors(node_id, SAME_AS, direction="both"):
                a, b = find(node_id), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # the root is always the smallest id of the component
    return {node_id: find(node_id) for node_id in ids}


def is_held_out(group: str, seed: int, share: float) -> bool:
    """True for a `share` of groups: blake2b of "<seed>:<group>" read as a number in [0, 1)."""
    digest = hashlib.blake2b(f"{seed}:{group}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64 < share


def holdout_path(out_path: str | os.PathLike) -> Path:
    """Where the held-out queries of `out_path` go: pairs.jsonl -> pairs.holdout.jsonl."""
    out = Path(out_path)
    return out.with_name(f"{out.stem}.holdout.jsonl")


@dataclass
class _Anchor:
    text: str
    node_id: str
    positives: dict[str, tuple[str, int]] = field(default_factory=dict)  # normalized -> (text, label)


class KGPairs:
    """The pairs of one graph: which groups are held out or excluded, which terms are withheld.

    `examples()` yields the training examples, `holdout_queries()` the held-out linking queries, and
    `counts` says what was made and what was dropped (filled as the two are consumed).
    """

    def __init__(
        self,
        kg: KnowledgeGraph,
        config: KGPairsConfig | None = None,
        exclude_terms: Iterable[str] = (),
        exclude_nodes: Iterable[str] = (),
    ) -> None:
        self.kg = kg
        self.config = config if config is not None else KGPairsConfig()
        nodes = kg.nodes
        self.ids: list[str] = nodes["id"].to_list()
        self.names: list[str] = nodes["name"].to_list()
        self.synonyms: list[list[str]] = [list(s or []) for s in nodes["synonyms"].to_list()]
        self.group = concept_groups(kg)
        self.members: dict[str, list[int]] = {}  # group -> node positions, in graph order
        for i, node_id in enumerate(self.ids):
            self.members.setdefault(self.group[node_id], []).append(i)
        wanted = set(exclude_nodes)
        unknown = wanted.difference(self.group)
        if unknown:
            logger.info("%d excluded node ids are not in %r (ignored)", len(unknown), kg.label)
        self.excluded_groups = {self.group[n] for n in wanted if n in self.group}
        self.held_out = {
            g
            for g in self.members
            if g not in self.excluded_groups and is_held_out(g, self.config.seed, self.config.holdout)
        }
        # every term of a held-out or excluded group: never in a training example
        self.withheld: set[str] = set()
        for g in self.held_out | self.excluded_groups:
            for i in self.members[g]:
                self.withheld.update(normalize_term(t) for t in (self.names[i], *self.synonyms[i]))
        self.excluded_terms = {normalize_term(t) for t in exclude_terms if normalize_term(t)}
        self.counts: dict[str, int] = {
            "nodes": len(self.ids),
            "groups": len(self.members),
            "held_out_groups": len(self.held_out),
            "excluded_groups": len(self.excluded_groups),
            "excluded_terms": len(self.excluded_terms),
            **dict.fromkeys(_COUNTED, 0),
        }

    def _usable(self, term: str, what: str) -> bool:
        key = normalize_term(term)
        if not key:
            return False
        if key in self.withheld:
            self._count(f"{what}_withheld")
            return False
        if key in self.excluded_terms:
            self._count(f"{what}_excluded")
            return False
        return True

    def _count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def _group_names(self, i: int) -> list[str]:
        """The node's own name first, then (with same_as) the other names of its group."""
        names = [self.names[i]]
        if self.config.same_as:
            names += [self.names[j] for j in self.members[self.group[self.ids[i]]] if j != i]
        return list(dict.fromkeys(names))

    def examples(self) -> Iterator[TrainingExample]:
        """Training examples in graph order, one per distinct anchor string (merged across concepts)."""
        anchors: dict[str, _Anchor] = {}

        def add(anchor: str, node_id: str, positives: list[str], label: int) -> None:
            key = normalize_term(anchor)
            entry = anchors.setdefault(key, _Anchor(anchor, node_id))
            for text in positives:
                if normalize_term(text) != key:  # an anchor is never its own positive
                    entry.positives.setdefault(normalize_term(text), (text, label))

        for i, node_id in enumerate(self.ids):
            group = self.group[node_id]
            if group in self.held_out or group in self.excluded_groups or not self.synonyms[i]:
                continue
            label = concept_label(group)
            names = [n for n in self._group_names(i) if self._usable(n, "positive")]
            own = normalize_term(self.names[i])
            synonyms = [s for s in self.synonyms[i] if normalize_term(s) != own and self._usable(s, "anchor")]
            for synonym in synonyms:
                add(synonym, node_id, names, label)
            if (
                self.config.reverse
                and synonyms
                and normalize_term(self.names[i]) in {normalize_term(n) for n in names}
            ):
                add(self.names[i], node_id, synonyms + names[1:], label)
        per_node: dict[str, int] = {}
        for entry in anchors.values():
            if not entry.positives:
                self._count("anchors_without_positive")
                continue
            k = per_node[entry.node_id] = per_node.get(entry.node_id, -1) + 1
            texts = tuple(text for text, _ in entry.positives.values())
            labels = tuple(label for _, label in entry.positives.values())
            self._count("examples")
            self._count("positives", len(texts))
            yield TrainingExample(entry.text, texts, labels, id=f"{entry.node_id}#{k}")

    def holdout_queries(self) -> Iterator[HoldoutQuery]:
        """The held-out groups' synonyms (once each), with their gold node ids; synonyms equal to some
        node's preferred name are counted (`holdout_exact_names`) and left out."""
        preferred = {normalize_term(n) for n in self.names}
        seen: set[str] = set()
        for i, node_id in enumerate(self.ids):
            if self.group[node_id] not in self.held_out:
                continue
            for synonym in self.synonyms[i]:
                key = normalize_term(synonym)
                if not key or key in seen:
                    continue
                seen.add(key)
                if key in preferred:
                    self._count("holdout_exact_names")
                    continue
                groups = dict.fromkeys(self.group[n] for n in self.kg.find(synonym))
                gold = tuple(self.ids[j] for g in groups for j in self.members[g])
                self._count("holdout_queries")
                yield HoldoutQuery(synonym, gold)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    """Stream `lines` into a temporary file beside `path`, rename it over `path`, record it as ours."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    record_owned_file(path)


def write_kg_pairs(
    kg: KnowledgeGraph,
    out_path: str | os.PathLike,
    config: KGPairsConfig | None = None,
    exclude_terms: Iterable[str] = (),
    exclude_nodes: Iterable[str] = (),
) -> dict[str, int]:
    """Write the training examples to `out_path` and the held-out queries to `holdout_path(out_path)`.

    Both files are checked first (absent, or written by emerge: a file of yours is refused) and then
    replaced whole (pairs take seconds to rebuild; there is nothing to resume). Returns the counts.
    """
    out, held = Path(out_path), holdout_path(out_path)
    check_output_file(out, "--out")
    check_output_file(held, "held-out queries file")
    pairs = KGPairs(kg, config, exclude_terms, exclude_nodes)
    _write_lines(out, (ex.to_json() for ex in pairs.examples()))
    _write_lines(held, (q.to_json() for q in pairs.holdout_queries()))
    if not pairs.counts.get("examples"):
        raise UserInputError(
            f"{kg.label!r} gave no training pair ({pairs.counts}); the graph needs concepts with synonyms "
            "outside the held-out share"
        )
    logger.info("knowledge-alignment pairs in %s, held-out queries in %s: %s", out, held, pairs.counts)
    return {**pairs.counts, "out": str(out), "holdout_file": str(held)}


def read_holdout(path: str | os.PathLike) -> list[HoldoutQuery]:
    """The queries of a held-out file written by `write_kg_pairs`; a bad line is an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(
            f"held-out queries file {path} not found; build it with `emerge retriever build-kg-pairs`"
        )
    queries = []
    with reading(path, "held-out queries"), path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                queries.append(HoldoutQuery(str(row["query"]), tuple(str(g) for g in row["gold"])))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise UserInputError(
                    f'{path}:{lineno}: expected {{"query": str, "gold": [node ids]}} ({exc})'
                ) from exc
    return queries


def icd10_benchmark_exclusions(n_codes: int = 300, seed: int = 0) -> tuple[set[str], set[str]]:
    """(dotted codes, terms) of the ICD-10-CM benchmark's default queries (`inclusion_term_queries(n_codes,
    seed)`, what `emerge retriever eval-icd10 --limit n_codes --seed seed` asks): the codes as the starter
    KG names its nodes, and every query text and code description, so training can leave them out."""
    import simple_icd_10_cm as icd

    from drehr.evaluation.icd10 import inclusion_term_queries

    queries, descriptions = inclusion_term_queries(n_codes, seed)
    codes = {icd.add_dot(code) for code in descriptions}
    return codes, {q.text for q in queries} | set(descriptions.values())
