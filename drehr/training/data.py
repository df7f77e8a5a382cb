"""Per-epoch positive sampling, concept ids, tokenizing collate and the Lightning data module.

The examples are `drehr.data.TrainingExample`s (anchor text, positive texts, optional integer
labels), as the stage I, stage II and QA builders write them and `drehr.data.read_examples` reads
them; a JSONL file holds one `{"anchor": str, "positives": [str], "labels": [int]}` per line.

Labels say which positives are the same concept. Two positives are merged into one concept when
they share a given label or their normalized strings are equal (union-find over the whole data
set, so the ids agree on every process); the loss never treats a chunk's own concept, seen among
another chunk's positives, as a negative.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from drehr.data.examples import TrainingExample
from foundation.errors import UserInputError
from foundation.terms import normalize_term

__all__ = ["concept_labels", "PositiveSamplingDataset", "Collator", "RetrieverDataModule"]

logger = logging.getLogger(__name__)


def concept_labels(examples: Sequence[TrainingExample]) -> list[list[int]]:
    """Per example, a concept id per positive: same given label OR same normalized string -> same id."""
    parent: dict[tuple, tuple] = {}

    def find(x: tuple) -> tuple:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for ex in examples:
        for j, text in enumerate(ex.positives):
            node = ("s", normalize_term(text))
            find(node)
            if ex.labels is not None:
                a, b = find(node), find(("l", ex.labels[j]))
                if a != b:
                    parent[a] = b
    ids: dict[tuple, int] = {}
    return [
        [ids.setdefault(find(("s", normalize_term(t))), len(ids)) for t in ex.positives] for ex in examples
    ]


class PositiveSamplingDataset(Dataset):
    """Item i = (anchor, k positives, their concept ids), k fixed, re-sampled every epoch.

    With at least k positives, k are drawn without replacement; with fewer, all are taken in a
    shuffled order, repeated until there are k. The draw depends only on (seed, epoch, i), so it
    is the same on every process and after a resume.
    """

    def __init__(
        self, examples: Sequence[TrainingExample], positives_per_anchor: int, seed: int = 42
    ) -> None:
        if not examples:
            raise UserInputError("no training examples were given.")
        self.examples = list(examples)
        self.labels = concept_labels(self.examples)
        self.k = positives_per_anchor
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> tuple[str, list[str], list[int]]:
        ex, labels = self.examples[i], self.labels[i]
        rng = random.Random(f"{self.seed}-{self.epoch}-{i}")  # str seeds hash with sha512: same everywhere
        n = len(ex.positives)
        if n >= self.k:
            picks = rng.sample(range(n), self.k)
        else:
            order = list(range(n))
            rng.shuffle(order)
            picks = (order * (self.k // n + 1))[: self.k]
        return ex.anchor, [ex.positives[j] for j in picks], [labels[j] for j in picks]


class Collator:
    """Items -> tokenized anchors and positives, owner [N] and labels [N] (picklable for workers).

    Anchors are encoded on `anchor_side` and positives on the other side, each with its training
    max length; truncation is counted and warned about once per process.
    """

    def __init__(self, model, anchor_side: str, anchor_max_length: int, positive_max_length: int) -> None:
        self.model = model
        self.anchor_side = anchor_side
        self.positive_side = "query" if anchor_side == "passage" else "passage"
        self.anchor_max_length = anchor_max_length
        self.positive_max_length = positive_max_length
        self.truncated = {"anchor": 0, "positive": 0}
        self._warned = False

    def __call__(self, items: list[tuple[str, list[str], list[int]]]) -> dict[str, object]:
        anchors = [a for a, _, _ in items]
        positives = [p for _, ps, _ in items for p in ps]
        owner = torch.tensor([i for i, (_, ps, _) in enumerate(items) for _ in ps], dtype=torch.long)
        labels = torch.tensor([lab for _, _, ls in items for lab in ls], dtype=torch.long)
        a = self.model.tokenize(anchors, self.anchor_side, self.anchor_max_length)
        p = self.model.tokenize(positives, self.positive_side, self.positive_max_length)
        self.truncated["anchor"] += a.n_truncated
        self.truncated["positive"] += p.n_truncated
        if (a.n_truncated or p.n_truncated) and not self._warned:
            self._warned = True
            logger.warning(
                "truncating training texts: %d of %d anchors over %d tokens, %d of %d positives over "
                "%d tokens in the first such batch (counts so far kept in Collator.truncated)",
                a.n_truncated,
                len(anchors),
                self.anchor_max_length,
                p.n_truncated,
                len(positives),
                self.positive_max_length,
            )
        return {
            "anchor": self.model.pad(a.input_ids),
            "positive": self.model.pad(p.input_ids),
            "owner": owner,
            "labels": labels,
        }


class RetrieverDataModule(L.LightningDataModule):
    """Shuffled batches of `anchors_per_batch` anchors with `positives_per_anchor` positives each."""

    def __init__(
        self,
        examples: Sequence[TrainingExample],
        collator: Collator,
        anchors_per_batch: int,
        positives_per_anchor: int,
        num_workers: int = 0,
        seed: int = 42,
    ) -> None:
        super().__init__()
        self.train_dataset = PositiveSamplingDataset(examples, positives_per_anchor, seed)
        self.collator = collator
        self.anchors_per_batch = anchors_per_batch
        self.num_workers = num_workers
        self.seed = seed

    def set_epoch(self, epoch: int) -> None:
        """Called at the start of every epoch so positives are re-sampled."""
        self.train_dataset.set_epoch(epoch)

    def train_dataloader(self) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(
            self.train_dataset,
            batch_size=self.anchors_per_batch,
            shuffle=True,
            collate_fn=self.collator,
            num_workers=self.num_workers,
            generator=generator,
            drop_last=len(self.train_dataset) > self.anchors_per_batch,
        )
