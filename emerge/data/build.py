"""`emerge data build`: MIMIC tables -> cohort, labels, splits, hourly features and notes on disk.

Output folder (see docs/data.md):
  cohort.parquet        one row per ICU stay with split and labels
  timeseries.parquet    (stay_id, hour) rows: raw value and `<variable>_observed` of the 17 variables
  features.safetensors  x [N, T, 61] float32, mask [N, T, 17] uint8, stay_id [N] int64, cohort order
  normalizer.json       training-split statistics (re-usable on another dataset)
  notes.parquet         the stays' notes inside the window (cleaned)
  dataset.json          kind "ehr_dataset": settings, input fingerprints, where the notes came from,
                        counts, exclusions, skips, feature names

The notes are read right after the cohort rules, so that `require_notes` can drop the stays without
one before the labels, splits and time series; when that rule is on and no note table is found, the
build stops before any work, naming the paths it looked at. `include_discharge_notes` logs
`LEAK_WARNING` on every call, also when the dataset is already built.

The output is a cached step (`foundation.outputs.cached_step`, kind "ehr_dataset") keyed by
`stable_hash(settings, input fingerprints)`: a rerun with the same key and whole outputs skips the
work; another key, or a damaged file, rebuilds. The build happens in a hidden sibling folder that
replaces the output only once finished, so a killed build never leaves a folder that looks done, and
`--out` must be new, empty or a dataset folder emerge wrote (a user's folder is never replaced).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from emerge.data.cohort import drop_stays_without_notes, load_tables, select_cohort
from emerge.data.config import BuildConfig
from emerge.data.hourly import hourly_series
from emerge.data.labels import add_labels
from emerge.data.normalize import Normalizer, feature_names
from emerge.data.notes import LEAK_WARNING, extract_notes, note_tables
from emerge.data.sources import Sources
from emerge.data.splits import assign_splits
from emerge.data.timeseries import extract_events
from emerge.data.variables import VARIABLES
from foundation.artifacts import stable_hash, write_config
from foundation.errors import UserInputError
from foundation.outputs import cached_step

__all__ = [
    "build_dataset",
    "dataset_key",
    "DATASET_KIND",
    "DATASET_VERSION",
    "DATASET_FILE",
    "COHORT_COLUMNS",
]

logger = logging.getLogger(__name__)

DATASET_KIND, DATASET_VERSION, DATASET_FILE = "ehr_dataset", 1, "dataset.json"
COHORT_COLUMNS = [
    "subject_id",
    "hadm_id",
    "stay_id",
    "intime",
    "outtime",
    "age",
    "sex",
    "split",
    "mortality_inhospital",
    "readmission_30d",
]


def dataset_key(config: BuildConfig, sources: Sources) -> str:
    """Cache key of a build: settings, input file fingerprints and the re-used normalizer's content."""
    extra = None
    if config.normalizer_path is not None:
        if not Path(config.normalizer_path).is_file():
            raise UserInputError(
                f"normalizer_path {config.normalizer_path} not found; pass the normalizer.json "
                f"of a built dataset, or leave it unset to fit one on this training split"
            )
        extra = hashlib.sha256(Path(config.normalizer_path).read_bytes()).hexdigest()
    return stable_hash(config.model_dump(mode="json"), sources.fingerprints(), extra)


def _no_stay_left(sources: Sources, exclusions: dict[str, int]) -> UserInputError:
    return UserInputError(
        f"no ICU stay under {sources.root} passed the cohort rules (exclusions: {exclusions}); "
        f"relax the rules in --config (e.g. cohort.min_icu_hours) or check --root"
    )


def _build_into(folder: Path, sources: Sources, config: BuildConfig, key: str, streaming: bool) -> dict:
    tables = load_tables(sources)
    cohort, exclusions = select_cohort(tables, config)
    if cohort.height == 0:
        raise _no_stay_left(sources, exclusions)
    notes, note_skips = extract_notes(sources, cohort, config)
    if config.cohort.require_notes:
        cohort, exclusions["no_notes"] = drop_stays_without_notes(cohort, notes)
        if cohort.height == 0:
            raise _no_stay_left(sources, exclusions)
    cohort = assign_splits(
        add_labels(cohort, tables.icustays, tables.admissions, config.labels), config.splits
    )

    events, ts_skips = extract_events(sources, cohort, config, streaming=streaming)
    series = hourly_series(events, cohort, config)
    numeric, codes, mask = series.numeric, series.codes, series.mask
    no_events = int((mask.reshape(cohort.height, -1).sum(1) == 0).sum())
    ts_skips["stays_without_events"] = no_events
    if no_events:
        logger.warning(
            "%d of %d stays have no event of the 17 variables in the window: kept, all-missing "
            "(imputed with training medians)",
            no_events,
            cohort.height,
        )

    train = (cohort["split"] == "train").to_numpy()
    age = cohort["age"].to_numpy()
    if config.normalizer_path is not None:
        normalizer = Normalizer.load(config.normalizer_path)
        logger.info("re-using normalization statistics from %s", config.normalizer_path)
    else:
        normalizer = Normalizer.fit(numeric[train], codes[train], age[train])
    male = (cohort["sex"] == "M").to_numpy().astype(np.float64)
    x = normalizer.transform(numeric, codes, male, age)
    stay_ids = cohort["stay_id"].to_numpy().astype(np.int64)

    cohort.select(COHORT_COLUMNS).write_parquet(folder / "cohort.parquet")
    series.table().write_parquet(folder / "timeseries.parquet")
    save_file({"x": x, "mask": mask, "stay_id": stay_ids}, str(folder / "features.safetensors"))
    normalizer.save(folder / "normalizer.json")
    notes.write_parquet(folder / "notes.parquet")

    split_counts = {s: int((cohort["split"] == s).sum()) for s in ("train", "val", "test")}
    counts = {
        "stays": cohort.height,
        "patients": int(cohort["subject_id"].n_unique()),
        "splits": split_counts,
        "mortality_rate": float(cohort["mortality_inhospital"].mean()),
        "readmission_rate": float(cohort["readmission_30d"].mean()),
        "events": events.height,
        "observed_values": int(mask.sum()),
        "notes": notes.height,
        "stays_with_notes": int(notes["stay_id"].n_unique()),
    }
    return {
        "key": key,
        "settings": config.model_dump(mode="json"),
        "root": str(sources.root),
        "notes_from": {
            "folder": None if sources.note_dir is None else str(sources.note_dir),
            "origin": sources.note_origin,
            "searched": [str(p) for p in sources.note_dirs_searched],
        },
        "inputs": sources.fingerprints(),
        "counts": counts,
        "exclusions": exclusions,
        "skips": {
            "cohort": {"duplicate_rows": tables.duplicate_rows},
            "timeseries": ts_skips,
            "notes": note_skips,
        },
        "variables": [v.name for v in VARIABLES],
        "feature_names": feature_names(),
        "shapes": {"x": list(x.shape), "mask": list(mask.shape)},
    }


def build_dataset(
    root: str | Path,
    out: str | Path,
    config: BuildConfig,
    *,
    note_root: str | Path | None = None,
    streaming: bool = True,
    force: bool = False,
) -> Path:
    """Build (or find up to date) the dataset of `config` from the MIMIC folder `root` into `out`.

    note_root: the folder of the note tables (MIMIC-IV-Note's note/); None looks under root, then
    beside it where PhysioNet puts the module (`emerge.data.sources`).
    """
    sources = Sources(root, config.version, note_root)
    if config.cohort.require_notes:
        sources.require_note_tables(
            note_tables(config), "cohort.require_notes is on (turn it off for a build without notes)"
        )
    if config.include_discharge_notes:
        logger.warning(LEAK_WARNING)
    out = Path(out)
    key = dataset_key(config, sources)

    def build(folder: Path) -> dict:
        logger.info(
            "building MIMIC-%s dataset from %s into %s (key %s)", config.version.upper(), root, out, key
        )
        payload = _build_into(folder, sources, config, key, streaming)
        write_config(folder, DATASET_KIND, DATASET_VERSION, payload, name=DATASET_FILE)
        return {"counts": payload["counts"]}

    step = cached_step(out, DATASET_KIND, DATASET_VERSION, key, build, force=force, what="--out")
    if step.reused:
        logger.info("%s is up to date (key %s): nothing to do", out, key)
        return out
    c = step.info["counts"]
    logger.info(
        "built %s: %d stays (%d patients; train/val/test %s), mortality %.1f%%, readmission %.1f%%, %d notes",
        out,
        c["stays"],
        c["patients"],
        "/".join(str(v) for v in c["splits"].values()),
        100 * c["mortality_rate"],
        100 * c["readmission_rate"],
        c["notes"],
    )
    return out
