"""`emerge data build`: MIMIC-III/IV tables -> cohort, labels, hourly features and notes
(emerge.data.build)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["build", "COMMANDS"]


@click.command(name="build")
@click.option(
    "--root",
    required=True,
    type=click.Path(path_type=Path),
    help="MIMIC folder: MIMIC-IV's (holding hosp/ and icu/) or MIMIC-III's (ICUSTAYS.csv.gz, ...); "
    "file and column names in any case, .csv or .csv.gz.",
)
@click.option(
    "--version",
    "version",
    type=click.Choice(["iii", "iv"]),
    default=None,
    help="MIMIC version of --root (default: the config's, else iv).",
)
@click.option(
    "--note-root",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of the note tables: MIMIC-IV-Note's note/ (discharge.csv.gz, radiology.csv.gz) or the "
    "folder above it; MIMIC-III: the folder holding NOTEEVENTS.csv.gz. Default: --root's note/, else "
    "mimic-iv-note/<version>/note beside a PhysioNet-layout --root (.../mimiciv/2.2).",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output folder of the dataset.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML file of BuildConfig fields (cohort rules, labels, window, splits...).",
)
@click.option(
    "--include-discharge-notes",
    is_flag=True,
    default=None,
    help="Add discharge summaries (they leak into 48 h tasks; a warning is logged).",
)
@click.option("--force", is_flag=True, help="Rebuild even if --out is up to date.")
def build(
    root: Path,
    version: str | None,
    note_root: Path | None,
    out: Path,
    config_path: Path | None,
    include_discharge_notes: bool | None,
    force: bool,
) -> None:
    """Build an EHR dataset (cohort, labels, splits, 48 h hourly features, notes) from MIMIC tables."""
    from emerge.data.build import build_dataset
    from emerge.data.config import BuildConfig

    overrides = {"version": version, "include_discharge_notes": include_discharge_notes or None}
    if config_path is not None:
        config = BuildConfig.from_yaml(config_path, **overrides)
    else:
        config = BuildConfig(**{k: v for k, v in overrides.items() if v is not None})
    path = build_dataset(root, out, config, note_root=note_root, force=force)
    click.echo(f"dataset ready: {path}")


COMMANDS: list = [build]
