"""Does the fusion learn? Every model x task x recipe x seed on the synthetic cohort, with diagnostics.

    python benchmarks/fusion.py --stays 4000 --seeds 0 1 2 --recipes cpu_fast default

Data: a synthetic cohort (`--stays` generated from `--data-seed`, default 0: another seed draws
another cohort and other splits, to check a choice made on one cohort), built with EMERGE's cohort
rules, notes embedded with the bundled MiniLM (16 chunks of 100 words per stay). Models are given as
`NAME=VARIANT[,field=value...]` (ModelConfig fields), e.g. `fusion_residual=fusion_no_summary,
fusion_output=residual,ts_pool=encoder`. Every run is a normal `train_and_evaluate` run, cached under
`--work`, so a rerun (or a run with more models) trains only what is new.

Reported per task and recipe, over the seeds (each seed: the trainer's seed, i.e. initialisation and
batch order; the data and splits stay fixed): mean and standard deviation of AUROC / AUPRC on the
test split, and the paired difference to `ts_only` (per seed, the same test stays). `stacking` is a
logistic regression on ts_only's and notes_only's validation predictions (emerge.training.stacking).

Diagnostics (`--diagnose NAME ...`): for those models, the validation gate weight per modality, the
pooled vectors' norms and the time-series -> notes attention entropy at the first and best epoch
(from the run's metrics.csv), the test AUROC when the notes are shuffled across stays, and the same
network trained with the text path zeroed (every notes mask False): does it recover ts_only?
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

DEFAULT_MODELS = [
    "ts_only=ts_only",
    "notes_only=notes_only",
    "concat_no_summary=concat_no_summary",
    "fusion_no_summary=fusion_no_summary",
]


def parse_model(spec: str):
    """`NAME=VARIANT[,field=value...]` -> a ModelConfig named NAME (values read as YAML)."""
    import yaml

    from emerge.models import ModelConfig

    name, _, rest = spec.partition("=")
    variant, *fields = rest.split(",") if rest else (name,)
    values = {k: yaml.safe_load(v) for k, v in (f.split("=", 1) for f in fields)}
    return ModelConfig(variant=variant, name=name, **values)


def prepare(work: Path, stays: int, summaries: bool, data_seed: int = 0):
    """The dataset and its model-ready data: mortality and readmission labels, notes embeddings and,
    with `summaries`, the demo's RAG summaries (one generic summary per stay, from the demo's entity
    mode and summariser), all built by the experiment stages of the shipped `demo` experiment under
    work/data."""
    from emerge.experiment.config import load_experiment
    from emerge.experiment.stages import Run, data_stage, kg_stage, rag_stage, text_stage
    from foundation.outputs import claim_folder

    # the model list only decides which texts get embedded: notes, and the summaries with `summaries`
    model = "model/emerge_full.yaml" if summaries else "model/fusion_no_summary.yaml"
    sets = [
        f"out={json.dumps(str(work / 'data'))}",
        f"data.synthetic.stays={stays}",
        f"data.synthetic.seed={data_seed}",
        f"models=[{model}]",
        f"rag.enabled={str(summaries).lower()}",
        "rag.summaries=one",  # one generic summary per stay, read by both tasks' models
        "reference=null",  # the experiment's report is not used here
    ]
    exp = load_experiment("demo", sets).resolve()
    claim_folder(work / "data", "emerge_experiment")
    run = Run(exp, work / "data")
    dataset = data_stage(run)
    texts = rag_stage(run, dataset, kg_stage(run)) if summaries else None
    data = text_stage(run, dataset, texts)  # task -> the same data (one summary serves both)
    return dataset, data["mortality"]


def trainer_config(recipe: str, seed: int):
    from emerge.experiment.config import config_path
    from emerge.training import TrainerConfig

    config = TrainerConfig.from_yaml(config_path(f"trainer/{recipe}.yaml", "trainer config"))
    return config.model_copy(update={"seed": seed, "n_bootstrap": 50, "accelerator": "cpu"})


def score(model, data, split: str, task: str) -> dict[str, np.ndarray]:
    """Probabilities of a trained network on one split (Lightning's predict, no training)."""
    import lightning as L

    from emerge.training.datamodule import EmergeDataModule
    from emerge.training.module import EmergeLightningModule

    dm = EmergeDataModule(data, (task,), task, modalities=model.requires, batch_size=256)
    module = EmergeLightningModule(model, (task,))
    trainer = L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    trainer.predict(module, dataloaders=dm.loader(split), return_predictions=False)
    return {k: v.numpy() for k, v in module.predictions.items()}


def shuffled_notes(data, seed: int = 0):
    """The same data with the notes (and their masks) permuted across stays."""
    import torch

    perm = torch.from_numpy(np.random.default_rng(seed).permutation(data.n))
    return dataclasses.replace(data, notes=data.notes[perm], notes_mask=data.notes_mask[perm])


def zeroed_notes(data):
    """The same data with every stay's notes masked out (the text path carries nothing)."""
    import torch

    return dataclasses.replace(
        data, notes=torch.zeros_like(data.notes), notes_mask=torch.zeros_like(data.notes_mask)
    )


def curves(run_dir: Path, task: str) -> dict[str, dict[str, float]]:
    """Validation diagnostics at the first epoch and at the best one (highest monitored metric)."""
    import polars as pl

    csv = run_dir / "logs" / "version_0" / "metrics.csv"
    if not csv.is_file():
        return {}
    frame = pl.read_csv(csv)
    keys = [c for c in frame.columns if c.startswith(("val/gate_", "val/norm_", "val/attn_entropy"))]
    monitor = next((c for c in (f"val/{task}_auprc", f"val/{task}_auroc") if c in frame.columns), None)
    if not keys or monitor is None:
        return {}
    epochs = frame.filter(pl.col(monitor).is_not_null()).select("epoch", monitor, *keys)
    best = epochs.sort(monitor, descending=True).row(0, named=True)
    first = epochs.row(0, named=True)
    return {"first": first, "best": best, "epochs": epochs.height}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stays", type=int, default=4000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--data-seed", type=int, default=0, help="The synthetic cohort's seed (another cohort, other splits)."
    )
    parser.add_argument("--recipes", nargs="+", default=["cpu_fast", "default"])
    parser.add_argument("--tasks", nargs="+", default=["mortality", "readmission"])
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--diagnose", nargs="*", default=[], help="Model names to diagnose (see above).")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_fusion"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "fusion.md")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--summaries",
        action="store_true",
        help="Also write the demo's RAG summaries (SmolLM2, 32 tokens) for the summary models.",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from emerge.metrics.classification import auprc, auroc, brier
    from emerge.training import train_and_evaluate
    from emerge.training.stacking import stack_predictions
    from foundation.errors import UserInputError

    try:  # bad model specs and recipe names fail here, before the cohort is built
        models = [parse_model(s) for s in args.models]
        for recipe in args.recipes:
            trainer_config(recipe, 0)
    except (UserInputError, ValueError) as err:  # pydantic's ValidationError is a ValueError
        parser.error(str(err))
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    dataset, data = prepare(args.work, args.stays, args.summaries, args.data_seed)
    results: dict = {}  # (recipe, task, model) -> list of per-seed dicts
    diagnostics: dict = {}
    for recipe in args.recipes:
        for seed in args.seeds:
            trainer = trainer_config(recipe, seed)
            for task in args.tasks:
                runs = {}
                for config in models:
                    run_dir = args.work / "runs" / recipe / f"seed{seed}" / task / config.display_name
                    result = train_and_evaluate(data, config, trainer, run_dir, task=task)
                    runs[config.display_name] = result
                    if config.display_name in args.diagnose:
                        zero_dir = run_dir.with_name(f"{config.display_name}@zeroed_text")
                        zeroed = train_and_evaluate(zeroed_notes(data), config, trainer, zero_dir, task=task)
                        runs[f"{config.display_name}@zeroed_text"] = zeroed
                        from emerge.models import load_model

                        model, _ = load_model(run_dir / "model")
                        shuffled = score(model, shuffled_notes(data, seed), "test", task)
                        diagnostics.setdefault((recipe, task, config.display_name), []).append(
                            {
                                "seed": seed,
                                "curves": curves(run_dir, task),
                                "auroc_notes_shuffled": auroc(shuffled["y"][:, 0], shuffled["prob"][:, 0]),
                                "auroc": auroc(
                                    result.predictions[task]["y_true"], result.predictions[task]["y_prob"]
                                ),
                            }
                        )
                if {"ts_only", "notes_only"} <= set(runs):
                    val_y = runs["ts_only"].val_predictions[task]["y_true"]
                    stacked = stack_predictions(
                        val_y,
                        {n: runs[n].val_predictions[task]["y_prob"] for n in ("ts_only", "notes_only")},
                        {n: runs[n].predictions[task]["y_prob"] for n in ("ts_only", "notes_only")},
                    )
                    runs["stacking"] = (runs["ts_only"].predictions[task]["y_true"], stacked)
                for name, result in runs.items():
                    y, p = (
                        result
                        if isinstance(result, tuple)
                        else (result.predictions[task]["y_true"], result.predictions[task]["y_prob"])
                    )
                    results.setdefault((recipe, task, name), []).append(
                        {"seed": seed, "auroc": auroc(y, p), "auprc": auprc(y, p), "brier": brier(y, p)}
                    )
    write_report(args, dataset, results, diagnostics, time.perf_counter() - t0)


def _mean_std(values: list[float]) -> str:
    return f"{100 * np.mean(values):.2f} ± {100 * np.std(values, ddof=1) if len(values) > 1 else 0:.2f}"


def write_report(args, dataset, results: dict, diagnostics: dict, seconds: float) -> None:
    import torch

    c = dataset.info["counts"]
    lines = [
        "# Fusion vs its time-series branch (synthetic cohort)",
        "",
        f"`python benchmarks/fusion.py --stays {args.stays} --data-seed {args.data_seed} "
        f"--seeds {' '.join(map(str, args.seeds))} "
        "--recipes "
        f"{' '.join(args.recipes)} --tasks {' '.join(args.tasks)} --models {' '.join(args.models)}"
        + (f" --diagnose {' '.join(args.diagnose)}" if args.diagnose else "")
        + (" --summaries" if args.summaries else "")
        + f" --work {args.work}"
        + "`",
        "",
        f"Data: {c['stays']} stays in the cohort ({c['splits']['train']} / {c['splits']['val']} / "
        f"{c['splits']['test']} train / val / test), mortality {100 * c['mortality_rate']:.1f} %, "
        "readmission "
        f"{100 * c['readmission_rate']:.1f} %; notes as up to 16 MiniLM chunk embeddings. Machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} threads; "
        f"{seconds / 60:.0f} min in all (cached runs reused).",
        "",
        "Test-split AUROC / AUPRC x100, mean ± std over the seeds; Δ = the paired difference to ts_only "
        "(same seed, same test stays), mean ± std over the seeds; `wins` = seeds where the model is at "
        "least as good as ts_only in both AUROC and AUPRC.",
    ]
    for recipe in args.recipes:
        for task in args.tasks:
            lines += [
                "",
                f"## {task}, recipe `{recipe}`",
                "",
                "| model | AUROC | AUPRC | Δ AUROC | Δ AUPRC | Brier | wins |",
                "|---|---|---|---|---|---|---|",
            ]
            base = {r["seed"]: r for r in results.get((recipe, task, "ts_only"), [])}
            for (rec, tsk, name), rows in results.items():
                if (rec, tsk) != (recipe, task):
                    continue
                d_roc = [r["auroc"] - base[r["seed"]]["auroc"] for r in rows if r["seed"] in base]
                d_prc = [r["auprc"] - base[r["seed"]]["auprc"] for r in rows if r["seed"] in base]
                wins = sum(a >= 0 and b >= 0 for a, b in zip(d_roc, d_prc, strict=True))
                lines.append(
                    f"| {name} | {_mean_std([r['auroc'] for r in rows])} "
                    f"| {_mean_std([r['auprc'] for r in rows])} "
                    f"| {_mean_std(d_roc)} | {_mean_std(d_prc)} | {np.mean([r['brier'] for r in rows]):.4f} "
                    f"| {wins}/{len(rows)} |"
                )
    if diagnostics:
        lines += [
            "",
            "## Diagnostics",
            "",
            "Validation split, first epoch -> best epoch: gate weight per modality, norm of each pooled "
            "vector, entropy of the ts -> notes attention (1 = uniform); test AUROC with the notes shuffled "
            "across stays.",
            "",
            "| recipe | task | model | seed | epochs | gate ts | gate notes | norm ts | norm notes "
            "| attn entropy "
            "| AUROC | AUROC notes shuffled |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for (recipe, task, name), rows in diagnostics.items():
            for r in rows:
                cv = r["curves"]

                def pair(key: str, cv=cv) -> str:
                    if not cv or key not in cv["first"] or cv["first"][key] is None:
                        return "-"
                    return f"{cv['first'][key]:.2f} -> {cv['best'][key]:.2f}"

                lines.append(
                    f"| {recipe} | {task} | {name} | {r['seed']} | {cv.get('epochs', '-')} "
                    f"| {pair('val/gate_ts')} | {pair('val/gate_notes')} | {pair('val/norm_ts')} "
                    f"| {pair('val/norm_notes')} | {pair('val/attn_entropy')} | {100 * r['auroc']:.2f} "
                    f"| {100 * r['auroc_notes_shuffled']:.2f} |"
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (args.work / "fusion_results.json").write_text(
        json.dumps({"|".join(k): v for k, v in results.items()}, indent=1), encoding="utf-8"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
