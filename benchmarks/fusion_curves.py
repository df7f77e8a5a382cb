"""Learning curves and gate weights of the fusion benchmark's runs, as one PNG for docs/model.md.

    python benchmarks/fusion_curves.py --work runs/bench_fusion --recipe cpu_fast --seed 0

Reads each run's logs/version_0/metrics.csv (written by Lightning's CSV logger during
`benchmarks/fusion.py`) and draws, per task: the validation AUPRC per epoch of ts_only and the fusion
variants, and the mean validation gate weight of the notes per epoch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODELS = {  # run name -> (label, colour): the same colour in every panel
    "ts_only": ("ts_only", "tab:blue"),
    "fusion_no_summary": ("fusion (paper)", "tab:orange"),
    "fusion_residual": ("fusion (residual, no ts context)", "tab:green"),
    "fusion_ctx": ("fusion (default)", "tab:red"),
}


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import polars as pl

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("runs/bench_fusion"))
    parser.add_argument("--recipe", default="cpu_fast")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "fusion_curves.png")
    args = parser.parse_args()
    tasks = ("mortality", "readmission")
    fig, axes = plt.subplots(2, len(tasks), figsize=(10, 6.5), sharex=True)
    for col, task in enumerate(tasks):
        for name, (label, colour) in MODELS.items():
            csv = (
                args.work
                / "runs"
                / args.recipe
                / f"seed{args.seed}"
                / task
                / name
                / "logs"
                / "version_0"
                / "metrics.csv"
            )
            if not csv.is_file():
                continue
            frame = pl.read_csv(csv).filter(pl.col(f"val/{task}_auprc").is_not_null())
            epochs = frame["epoch"] + 1
            axes[0, col].plot(epochs, 100 * frame[f"val/{task}_auprc"], marker="o", label=label, color=colour)
            if "val/gate_notes" in frame.columns:
                axes[1, col].plot(epochs, frame["val/gate_notes"], marker="o", label=label, color=colour)
        axes[0, col].set_title(f"{task}: validation AUPRC")
        axes[1, col].set_title(f"{task}: mean gate weight of the notes")
        axes[1, col].set_xlabel("epoch")
        axes[1, col].set_ylim(0, 1)
    axes[0, 0].legend(fontsize=8)
    axes[1, 0].legend(fontsize=8)
    fig.suptitle(f"Synthetic cohort, recipe {args.recipe}, seed {args.seed}")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(args.out)


if __name__ == "__main__":
    main()
