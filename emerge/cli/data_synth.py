"""`emerge data synth`: write the synthetic cohort in MIMIC-IV layout (emerge.data.synth.generate)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["synth", "COMMANDS"]


@click.command(name="synth")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write hosp/, icu/, note/, truth/ into.",
)
@click.option("--stays", default=2000, show_default=True, type=int, help="Number of ICU stays to generate.")
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Random seed; the same seed gives identical files."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing synthetic cohort in --out.")
def synth(out: Path, stays: int, seed: int, overwrite: bool) -> None:
    """Generate a synthetic ICU cohort (no real patients) with MIMIC-IV 2.2's files and columns."""
    from emerge.data.synth import generate

    s = generate(out, stays=stays, seed=seed, overwrite=overwrite)
    click.echo(
        f"wrote {s.stays} ICU stays of {s.patients} patients ({s.admissions} admissions), "
        f"{s.chartevents} chartevents, {s.labevents} labevents, {s.notes} notes to {out}; "
        f"included stays {s.included_stays}: mortality {s.mortality_rate:.3f}, "
        f"30-day readmission {s.readmission_rate:.3f}"
    )


COMMANDS = [synth]
