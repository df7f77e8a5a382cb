"""The experiment's report across seeds: metrics.json, metrics.md and a forest plot per task.

For every task and model (each trained once per seed on the same data and splits):

- `seeds`, `per_seed` (each seed's test metrics: AUROC, AUPRC, min(+P,Se) with their bootstrap
  intervals, Brier, ECE) and `<metric>_mean` / `<metric>_std` over the seeds (sample std);
- `vs_reference`: the model against the reference model (default `ts_only`) on the same test stays.
  Each model's prediction for a stay is the mean of its seeds' probabilities (the seed ensemble), and
  the two ensembles are compared with a paired bootstrap of the AUROC and AUPRC difference (interval
  and two-sided p-value; the same resamples for both models) and DeLong's test for the AUROC; the
  mean ± std of the per-seed differences is given too. p-values are not adjusted for the number of
  comparisons: with k models against the reference, a Bonferroni threshold is 0.05 / k (stated in
  metrics.md);
- `subgroups`: AUROC, AUPRC, Brier and ECE of the seed ensemble by sex and by age band, with the
  counts, and "n too small" below the stated minimum (`emerge.metrics.subgroups`).

metrics.md shows the mean ± std table in EMERGE's layout (rows: models; columns: task x metric), the
comparisons to the reference, and the subgroups; OUT/forest_<task>.png draws every model's mean
AUROC and AUPRC with the per-seed bootstrap intervals averaged over the seeds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emerge.metrics.paired import delong_test, paired_bootstrap
from emerge.metrics.plots import forest_plot
from emerge.metrics.report import save_metrics_json
from emerge.metrics.seeds import format_mean_std, summarize_seeds
from emerge.metrics.subgroups import age_bands, subgroup_metrics
from foundation.artifacts import atomic_write_text

__all__ = ["SeedRun", "experiment_report", "experiment_table", "write_experiment_report"]

SeedRun = tuple[int, Mapping[str, Any], Mapping[str, np.ndarray]]
"""(seed, this model's test metrics for the task, {"stay_id", "y_true", "y_prob"} of the test split)."""

_RANKING = ("auroc", "auprc", "min_p_se")
SUBGROUP_MIN_N, SUBGROUP_MIN_POSITIVES = 50, 5


def _ensemble(runs: Sequence[SeedRun]) -> dict[str, np.ndarray]:
    """The seeds' mean probability per test stay (every seed scored the same stays, in the same order)."""
    first = runs[0][2]
    for _, _, p in runs[1:]:
        if not np.array_equal(p["stay_id"], first["stay_id"]):
            raise RuntimeError("the seeds of a model scored different test stays")
    probs = np.mean([p["y_prob"] for _, _, p in runs], axis=0)
    return {"stay_id": first["stay_id"], "y_true": first["y_true"], "y_prob": probs}


def _mean_ci(per_seed: Sequence[Mapping[str, Any]], key: str) -> list[float] | None:
    bounds = [m.get(f"{key}_ci") for m in per_seed]
    if any(b is None or b[0] is None or b[1] is None for b in bounds):
        return None
    return [float(np.mean([b[0] for b in bounds])), float(np.mean([b[1] for b in bounds]))]


def _vs_reference(
    model: Mapping[str, np.ndarray],
    reference: Mapping[str, np.ndarray],
    seeds_model,
    seeds_ref,
    n_bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    y = model["y_true"]
    boot = paired_bootstrap(
        y,
        model["y_prob"],
        reference["y_prob"],
        metrics=("auroc", "auprc"),
        n_resamples=n_bootstrap,
        seed=seed,
    )
    per_seed = {}
    ref_by_seed = {s: m for s, m, _ in seeds_ref}
    for metric in ("auroc", "auprc"):
        diffs = [
            m[metric] - ref_by_seed[s][metric]
            for s, m, _ in seeds_model
            if s in ref_by_seed and m.get(metric) is not None and ref_by_seed[s].get(metric) is not None
        ]
        per_seed[f"{metric}_diff_mean"] = float(np.mean(diffs)) if diffs else float("nan")
        per_seed[f"{metric}_diff_std"] = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else 0.0
    return {
        "auroc": boot["auroc"].to_dict(),
        "auprc": boot["auprc"].to_dict(),
        "delong_auroc": delong_test(y, model["y_prob"], reference["y_prob"]).to_dict(),
        "per_seed": per_seed,
    }


def experiment_report(
    runs: Mapping[str, Mapping[str, Sequence[SeedRun]]],
    cohort,
    out: Path,
    reference: str | None = "ts_only",
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """metrics.json's body from `runs[task][model]` (one `SeedRun` per seed), plus the forest plots.

    `cohort` (the dataset's cohort table) gives each test stay's sex and age for the subgroups.
    """
    sex = dict(zip(cohort["stay_id"].to_list(), cohort["sex"].to_list(), strict=True))
    age = dict(zip(cohort["stay_id"].to_list(), cohort["age"].to_list(), strict=True))
    tasks: dict[str, Any] = {}
    for task, models in runs.items():
        ensembles = {name: _ensemble(seed_runs) for name, seed_runs in models.items()}
        body: dict[str, Any] = {}
        for name, seed_runs in models.items():
            per_seed = [{"seed": s, **dict(m)} for s, m, _ in seed_runs]
            entry = summarize_seeds(per_seed)
            entry["n"], entry["positives"] = per_seed[0].get("n"), per_seed[0].get("positives")
            for key in _RANKING:
                entry[f"{key}_ci"] = _mean_ci(per_seed, key)
            ens = ensembles[name]
            stays = ens["stay_id"].tolist()
            entry["subgroups"] = subgroup_metrics(
                ens["y_true"],
                ens["y_prob"],
                {
                    "sex": np.array([sex[s] for s in stays], dtype=object),
                    "age": age_bands(np.array([age[s] for s in stays], dtype=np.float64)),
                },
                min_n=SUBGROUP_MIN_N,
                min_positives=SUBGROUP_MIN_POSITIVES,
                name=f"{task}/{name}",
            )
            if reference in models and name != reference:
                entry["vs_reference"] = _vs_reference(
                    ens, ensembles[reference], seed_runs, models[reference], n_bootstrap, seed
                )
            body[name] = entry
        tasks[task] = {"reference": reference if reference in models else None, "models": body}
        rows = [
            {
                "model": name,
                "auroc": e.get("auroc_mean"),
                "auprc": e.get("auprc_mean"),
                "auroc_ci": e.get("auroc_ci"),
                "auprc_ci": e.get("auprc_ci"),
            }
            for name, e in body.items()
        ]
        forest_plot(
            rows,
            out / f"forest_{task}.png",
            title=f"{task}: test AUROC and AUPRC (mean over seeds)",
            reference=reference if reference in models else None,
        )
    comparisons = max((len(t["models"]) - 1 for t in tasks.values() if t["reference"]), default=0)
    return {"tasks": tasks, "multiple_comparisons": _comparisons_note(comparisons)}


def _comparisons_note(k: int) -> str:
    if k <= 1:
        return "one comparison per task: no adjustment needed"
    return (
        f"{k} models are compared with the reference per task and the p-values are not adjusted; "
        f"with Bonferroni's correction a difference is significant at the 5 % level when p < "
        f"{0.05 / k:.4f}"
    )


def _pct(value: Any, scale: float = 100.0, digits: int = 2) -> str:
    """A metric for the table: "n too small" and other notes pass through, numbers are scaled."""
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{scale * value:.{digits}f}"


def _fmt_p(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _diff(result: Mapping[str, Any]) -> str:
    if result.get("diff") is None or (isinstance(result["diff"], float) and math.isnan(result["diff"])):
        return "n/a"
    lo, hi = result.get("ci") or (None, None)
    interval = "" if lo is None or hi is None else f" ({100 * lo:+.2f} to {100 * hi:+.2f})"
    return f"{100 * result['diff']:+.2f}{interval}"


def experiment_table(metrics: Mapping[str, Any]) -> str:
    """metrics.md: mean ± std over the seeds in EMERGE's layout, comparisons to the reference, subgroups."""
    tasks = list(metrics["tasks"])
    models = list(dict.fromkeys(m for t in tasks for m in metrics["tasks"][t]["models"]))
    seeds = next(iter(next(iter(metrics["tasks"].values()))["models"].values()))["seeds"]
    head = (
        "| model | " + " | ".join(f"{t} {m}" for t in tasks for m in ("AUROC", "AUPRC", "min(+P,Se)")) + " |"
    )
    lines = [
        f"### Test metrics x100, mean ± std over {len(seeds)} seed{'s' if len(seeds) > 1 else ''} "
        f"({', '.join(map(str, seeds))})",
        "",
        head,
        "|---" * (1 + 3 * len(tasks)) + "|",
    ]
    for name in models:
        cells = []
        for t in tasks:
            e = metrics["tasks"][t]["models"].get(name)
            cells += [format_mean_std(e.get(f"{k}_mean"), e.get(f"{k}_std")) if e else "-" for k in _RANKING]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += _concepts_lines(metrics.get("note_concepts"))
    for t in tasks:
        body = metrics["tasks"][t]
        ref = body.get("reference")
        if not ref:
            continue
        lines += [
            "",
            f"### {t}: each model against {ref} (same test stays)",
            "",
            "| model | Δ AUROC (95 % CI) | p (bootstrap) | p (DeLong) | Δ AUPRC (95 % CI) | p (bootstrap) "
            "| Δ per seed AUROC / AUPRC |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, e in body["models"].items():
            v = e.get("vs_reference")
            if not v:
                continue
            ps = v["per_seed"]
            lines.append(
                f"| {name} | {_diff(v['auroc'])} | {_fmt_p(v['auroc']['p_value'])} "
                f"| {_fmt_p(v['delong_auroc']['p_value'])} | {_diff(v['auprc'])} "
                f"| {_fmt_p(v['auprc']['p_value'])} "
                f"| {format_mean_std(ps['auroc_diff_mean'], ps['auroc_diff_std'])} / "
                f"{format_mean_std(ps['auprc_diff_mean'], ps['auprc_diff_std'])} |"
            )
    lines += [
        "",
        f"Differences are x100, computed on each model's seed ensemble (the mean probability over "
        f"its seeds). {metrics.get('multiple_comparisons', '')}.",
    ]
    for t in tasks:
        lines += [
            "",
            f"### {t}: subgroups of the test split (seed ensemble; AUROC / AUPRC x100, n, positives)",
            "",
            "| model | subgroup | AUROC | AUPRC | Brier | n | positives |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, e in metrics["tasks"][t]["models"].items():
            for attr, groups in (e.get("subgroups") or {}).items():
                for group, g in groups.items():
                    lines.append(
                        f"| {name} | {attr} {group} | {_pct(g.get('auroc'))} | {_pct(g.get('auprc'))} | "
                        f"{_pct(g.get('brier'), 1.0, 4)} | {g['n']} | {g['positives']} |"
                    )
    lines += [
        "",
        f"Subgroups with fewer than {SUBGROUP_MIN_N} stays or {SUBGROUP_MIN_POSITIVES} positives "
        '(or negatives) show "n too small".',
    ]
    return "\n".join(lines) + "\n"


def _concepts_lines(concepts: Mapping[str, Any] | None) -> list[str]:
    """The note-concepts section of metrics.md (synthetic cohorts: `emerge.rag.concept_truth`)."""
    if not concepts:
        return []
    lines = [
        "",
        "### Note concepts against the synthetic ground truth (RAG stage, every stay)",
        "",
        "| entity mode | stays | recall | precision (lower bound) | recall, unseen surface forms "
        "| concepts per stay |",
        "|---|---|---|---|---|---|",
    ]
    for key, c in concepts.items():
        label = f"{c['mode']} (this run)" if key == "configured" else f"{c['mode']} (baseline)"
        lines.append(
            f"| {label} | {c['stays']} | {_pct(c['recall'], digits=1)} | {_pct(c['precision'], digits=1)} "
            f"| {_pct(c['unseen_recall'], digits=1)} (n={c['unseen_pairs']}) "
            f"| {c['per_stay_nodes']:.1f} |"
        )
    lines += [
        "",
        "Per-stay means x100 over the stays whose in-window notes mention a condition. Unseen: "
        "conditions none of whose mentions is a KG name or synonym. Precision counts true findings that "
        "are not latent conditions as wrong (`emerge.rag.concept_truth`).",
    ]
    return lines


def write_experiment_report(metrics: Mapping[str, Any], out: Path) -> str:
    """OUT/metrics.json and OUT/metrics.md; returns the markdown."""
    save_metrics_json(metrics, out / "metrics.json")
    table = experiment_table(metrics)
    atomic_write_text(out / "metrics.md", table)
    return table
