"""Show that DR.EHR stage I works: train MiniLM on the synthetic cohort's notes, compare with the base model.

Steps (each cached under the work folder, so a rerun skips what is finished):
  1. a synthetic cohort (`emerge.data.synth.generate`, `stays` stays, `seed`) in synth_<stays>_<seed>/;
  2. patients split 80/20 by `synthetic_cliniq.heldout_subjects`;
  3. stage I examples from the TRAIN patients' discharge and radiology notes with a KG (default: the
     starter KG), stage1_<key>.jsonl (resumable by chunk id);
  4. training from the base model, train_<key>/ (resumable from its last checkpoint);
  5. the base and the trained model, each evaluated on (a) the CliniQ-style benchmark of the HELD-OUT
     patients (`build_synthetic_cliniq`: queries = condition names; relevance by string, synonym or
     abbreviation) and (b) the ICD-10-CM inclusion-term benchmark; eval/<model>_<key>.json.
The held-out patients' notes are never trained on.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from foundation.artifacts import atomic_write_text, stable_hash

__all__ = ["ExperimentConfig", "run_experiment", "results_table", "split_subjects", "MATCH_TYPES"]

logger = logging.getLogger(__name__)

MATCH_TYPES = ("string", "synonym", "abbreviation")


class ExperimentConfig(BaseModel):
    """Settings of the stage I experiment. The training ones are configs/retriever/stage1_minilm.yaml's
    scaled to 2 CPU cores: fewer positives per chunk, smaller batches, 1 epoch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stays: int = Field(default=2000, ge=10)
    seed: int = 0
    heldout_fraction: float = Field(default=0.2, gt=0, lt=1)
    base_model: str = "default"
    min_words: int = Field(default=20, ge=1, description="notes shorter than this are not trained on")
    synonyms: int = Field(default=2, ge=0)
    hypernyms: int = Field(default=2, ge=0)
    related: int = Field(default=2, ge=0)
    terms_per_concept: int = Field(default=2, ge=1)
    max_positive_fraction: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="drop positives found in more than this fraction of the chunks (1.0: keep all): generic "
        "KG terms such as HPO's 'acute' -> 'temporal pattern' that name no condition",
    )
    positives_per_anchor: int = Field(default=32, ge=1)
    anchors_per_batch: int = Field(default=16, ge=2)
    epochs: int = Field(default=1, ge=1)
    max_steps: int = Field(default=-1, description="-1: the full epochs")
    lr: float = Field(default=1e-4, gt=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    passage_max_length: int = Field(default=160, ge=8)
    query_max_length: int = Field(default=16, ge=4)
    icd10_limit: int = Field(default=300, ge=1)
    eval_batch_size: int = Field(default=64, ge=1)

    def stage1_key(self) -> str:
        return stable_hash(
            self.stays,
            self.seed,
            self.heldout_fraction,
            self.min_words,
            self.synonyms,
            self.hypernyms,
            self.related,
            self.terms_per_concept,
            length=12,
        )

    def data_key(self) -> str:
        """The training data's identity: stage I settings and the frequent-positive filter."""
        return (
            self.stage1_key()
            if self.max_positive_fraction == 1.0
            else f"{self.stage1_key()}_maxfrac{self.max_positive_fraction:g}"
        )

    def train_config(self):
        from drehr.training import TrainConfig

        return TrainConfig(
            base_model=self.base_model,
            passage_max_length=self.passage_max_length,
            query_max_length=self.query_max_length,
            anchors_per_batch=self.anchors_per_batch,
            positives_per_anchor=self.positives_per_anchor,
            epochs=self.epochs,
            max_steps=self.max_steps,
            lr=self.lr,
            warmup_ratio=self.warmup_ratio,
            accelerator="cpu",
            devices=1,
            checkpoint_every_n_steps=25,
            log_every_n_steps=5,
            seed=self.seed + 42,
        )


def _cohort(work: Path, cfg: ExperimentConfig) -> Path:
    from emerge.data.synth import generate

    synth = work / f"synth_{cfg.stays}_{cfg.seed}"
    if not (synth / "truth" / "note_mentions.parquet").is_file():
        generate(synth, stays=cfg.stays, seed=cfg.seed, overwrite=synth.exists())
    return synth


def split_subjects(synth_dir: Path, fraction: float, seed: int) -> tuple[set[int], set[int]]:
    """(train, held-out) subject ids of the cohort; held-out by `heldout_subjects` (seeded hash)."""
    from benchmarks.stage1_synthetic.synthetic_cliniq import heldout_subjects

    subjects = set(
        pl.read_csv(synth_dir / "hosp" / "patients.csv.gz", columns=["subject_id"])["subject_id"].to_list()
    )
    heldout = heldout_subjects(subjects, fraction, seed)
    return subjects - heldout, heldout


def _training_notes(synth_dir: Path, train: set[int]) -> pl.DataFrame:
    from drehr.data.notes import read_notes

    frames = [
        read_notes(synth_dir / "note" / f"{name}.csv.gz", patient_column="subject_id")
        for name in ("discharge", "radiology")
    ]
    keep = [str(s) for s in sorted(train)]
    return pl.concat(frames).filter(pl.col("patient_id").is_in(keep))


def _drop_frequent_positives(path: Path, max_fraction: float) -> tuple[Path, dict[str, Any]]:
    """Write `<path>.maxfrac<f>.jsonl` without the positives (lower-cased) of more than `max_fraction`
    of the examples; examples left with none are dropped. Returns (new path, what was dropped)."""
    from collections import Counter

    from drehr.data import ExampleWriter, TrainingExample, read_examples

    out = path.with_name(f"{path.stem}.maxfrac{max_fraction:g}.jsonl")
    report = out.with_suffix(".filter.json")
    if report.is_file():
        return out, json.loads(report.read_text(encoding="utf-8"))
    examples = list(read_examples(path))
    df = Counter(p for ex in examples for p in {q.lower() for q in ex.positives})
    frequent = {p for p, n in df.items() if n > max_fraction * len(examples)}
    kept = []
    for ex in examples:
        keep = [j for j, p in enumerate(ex.positives) if p.lower() not in frequent]
        if keep:
            labels = None if ex.labels is None else tuple(ex.labels[j] for j in keep)
            kept.append(TrainingExample(ex.anchor, tuple(ex.positives[j] for j in keep), labels, id=ex.id))
    out.unlink(missing_ok=True)
    with ExampleWriter(out) as writer:
        writer.write(kept)
    info = {
        "max_fraction": max_fraction,
        "dropped_positives": sorted(frequent),
        "examples": len(kept),
        "examples_dropped": len(examples) - len(kept),
    }
    atomic_write_text(report, json.dumps(info, indent=2) + "\n")
    return out, info


def _evaluate(
    name: str, model_spec: str, cliniq_dir: Path, cfg: ExperimentConfig, work: Path
) -> dict[str, Any]:
    """Both benchmarks for one model, cached by the model's fingerprint and the benchmark settings."""
    from drehr.evaluation.suite import run_icd10_eval, run_retrieval_eval
    from drehr.model import BiEncoder

    encoder = BiEncoder.from_pretrained(model_spec)
    bench = json.loads((cliniq_dir / "stats.json").read_text(encoding="utf-8"))
    key = stable_hash(encoder.fingerprint, bench, cfg.icd10_limit, cfg.seed, length=12)
    path = work / "eval" / f"{name}_{key}.json"
    if path.is_file():
        logger.info("%s: cached evaluation %s", name, path)
        return json.loads(path.read_text(encoding="utf-8"))
    cliniq = run_retrieval_eval(encoder, cliniq_dir, "cliniq", cfg.eval_batch_size, baselines=name == "base")
    icd10 = run_icd10_eval(encoder, None, "file", cfg.icd10_limit, cfg.seed, cfg.eval_batch_size)
    result = {
        "model": name,
        "path": model_spec,
        "fingerprint": encoder.fingerprint,
        "cliniq": cliniq,
        "icd10": icd10,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    return result


def run_experiment(work_dir: str | Path, cfg: ExperimentConfig | None = None, kg=None) -> dict[str, Any]:
    """Run (or resume) every step; return {"config", "stage1", "benchmark", "training", "models": {...}},
    also written to `<run folder>/experiment.json`.

    `cfg` defaults to `ExperimentConfig()`; `kg` is the knowledge graph for stage I (default: the starter KG).
    """
    cfg = cfg if cfg is not None else ExperimentConfig()
    from benchmarks.stage1_synthetic.synthetic_cliniq import build_synthetic_cliniq
    from drehr.data import Stage1Config
    from drehr.data.files import build_stage1_file
    from drehr.training import train_retriever
    from kg.loading import open_graph_spec

    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    synth = _cohort(work, cfg)
    train_subjects, heldout = split_subjects(synth, cfg.heldout_fraction, cfg.seed)
    logger.info("%d training patients, %d held-out patients", len(train_subjects), len(heldout))

    cliniq_dir = work / f"cliniq_heldout_{cfg.stays}_{cfg.seed}_{cfg.heldout_fraction}"
    if not (cliniq_dir / "stats.json").is_file():
        stats = build_synthetic_cliniq(synth, cliniq_dir, heldout)
        atomic_write_text(cliniq_dir / "stats.json", json.dumps(stats, indent=2) + "\n")
    benchmark = json.loads((cliniq_dir / "stats.json").read_text(encoding="utf-8"))

    data_path = work / f"stage1_{cfg.stage1_key()}.jsonl"
    counts_path = data_path.with_suffix(".counts.json")
    if not counts_path.is_file():
        kg = kg if kg is not None else open_graph_spec("starter")
        stage1 = Stage1Config(
            synonyms=cfg.synonyms,
            hypernyms=cfg.hypernyms,
            related=cfg.related,
            terms_per_concept=cfg.terms_per_concept,
            seed=cfg.seed,
        )
        counts = build_stage1_file(
            _training_notes(synth, train_subjects), kg, data_path, stage1, min_words=cfg.min_words
        )
        counts["train_patients"], counts["heldout_patients"] = len(train_subjects), len(heldout)
        atomic_write_text(counts_path, json.dumps(counts, indent=2) + "\n")
    stage1_counts = json.loads(counts_path.read_text(encoding="utf-8"))
    if cfg.max_positive_fraction < 1.0:
        data_path, stage1_counts["filter"] = _drop_frequent_positives(data_path, cfg.max_positive_fraction)

    train_cfg = cfg.train_config()
    run_dir = work / f"train_{stable_hash(train_cfg.model_dump(mode='json'), cfg.data_key(), length=12)}"
    model_dir = train_retriever(
        train_cfg, data_path, run_dir, resume=(run_dir / "checkpoints" / "last.ckpt").exists()
    )
    training = json.loads((run_dir / "done.json").read_text(encoding="utf-8"))

    models = {
        "base": _evaluate("base", cfg.base_model, cliniq_dir, cfg, work),
        "stage1": _evaluate("stage1", str(model_dir), cliniq_dir, cfg, work),
    }
    result = {
        "config": cfg.model_dump(mode="json"),
        "stage1": stage1_counts,
        "benchmark": benchmark,
        "training": {k: training[k] for k in ("global_step", "final_loss", "truncated")},
        "run_dir": str(run_dir),
        "models": models,
    }
    atomic_write_text(run_dir / "experiment.json", json.dumps(result, indent=2) + "\n")
    return result


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def results_table(result: dict[str, Any]) -> str:
    """Markdown: per model, synthetic CliniQ (single-patient MRR / NDCG per match type, multi-patient
    MRR, Recall@100, standard MAP@100) and ICD-10-CM exact / category match; all in %."""
    head = (
        ["model"]
        + [f"SP MRR {t}" for t in ("overall", *MATCH_TYPES)]
        + ["SP NDCG overall", "MP MRR", "MP R@100", "MAP@100", "ICD-10 exact", "ICD-10 category"]
    )
    rows = []
    for name, res in result["models"].items():
        scorers = [("dense", name)] + ([("bm25", "BM25 (reference)")] if "bm25" in res["cliniq"] else [])
        for scorer, label in scorers:
            c = res["cliniq"][scorer]["cliniq"]
            single, multi = c["single_patient"], c["multi_patient"]["all"]
            cells = [_cell(single.get(g, {}).get("mrr")) for g in ("overall", *MATCH_TYPES)]
            cells += [
                _cell(single.get("overall", {}).get("ndcg")),
                _cell(multi.get("mrr")),
                _cell(multi.get("recall@100")),
                _cell(res["cliniq"][scorer]["standard"].get("map@100")),
            ]
            icd = res["icd10"] if scorer == "dense" else {}
            cells += [_cell(icd.get("exact_match")), _cell(icd.get("category_match"))]
            rows.append([label, *cells])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
