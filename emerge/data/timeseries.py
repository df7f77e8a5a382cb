"""Hourly time series of the 17 benchmark variables from chartevents and labevents.

`extract_events` reads each event table in one streaming pass (`LazyFrame.collect_batches`): the
lazy scan projects the five columns we use and keeps only the cohort's stays (labs: admissions);
each batch of `BATCH_ROWS` rows then counts the rows whose itemid is none of the 17 variables'
(the `ignored_itemid_rows` skip count, free in the same pass), keeps the others, finds their stay,
parses charttime with the exact MIMIC format, keeps the rows inside [intime, intime + window) and
turns them into events. Only events stay in memory, so peak memory follows the events inside the
window, not the table (MIMIC-IV's 313M chartevents rows stream through). Rows repeated exactly
(same stay, itemid, charttime, value and valuenum) are kept once and counted (`duplicate_rows`, per
table): the check runs on the events kept, each carrying its row's itemid and a 64-bit hash of its
value text, once after the pass (not on the whole table, which would hold every row). Then per row:
- numeric variables: `valuenum` (else the text parsed as a number), converted to one unit
  (F -> C, lb/oz -> kg, in -> cm, FiO2 percent -> fraction when > 1); values outside the variable's
  `valid_range` are dropped and counted;
- categorical variables: the chart text mapped to the benchmark's categories (`text_map`); unmapped
  text is dropped and counted;
- GCS total (MetaVision / MIMIC-IV chart it only as its three parts): eye + verbal + motor, when all
  three are charted at the same time for the stay (a part charted twice then: its later value).
`hourly_series` (in `emerge.data.hourly`) then lays the last value per (stay, hour, variable) on the
[N, T, V] grid.
"""

from __future__ import annotations

import logging
from typing import Any

import polars as pl

from emerge.data.config import BuildConfig
from emerge.data.hourly import hourly_table  # re-exported: the grid step lives in emerge.data.hourly
from emerge.data.sources import READ_ERRORS, Sources, collect, read_error
from emerge.data.variables import CATEGORICAL_VARIABLES, VARIABLES

__all__ = [
    "extract_events",
    "hourly_table",
    "item_table",
    "category_table",
    "GCS_PARTS",
    "MIMIC_TIME",
    "EVENT_SCHEMA",
]

logger = logging.getLogger(__name__)

GCS_PARTS = {220739: "eye", 223900: "verbal", 223901: "motor"}  # MetaVision / MIMIC-IV GCS parts
MIMIC_TIME = "%Y-%m-%d %H:%M:%S"  # charttime format of MIMIC-III and MIMIC-IV event tables
EVENT_SCHEMA = {
    "stay_id": pl.Int64,
    "charttime": pl.Datetime("us"),
    "variable": pl.String,
    "num": pl.Float64,
    "cat": pl.String,
}
_RAW = ["stay_id", "itemid", "charttime", "value", "valuenum"]
BATCH_ROWS = 200_000  # rows per streamed batch: ~20 MB of text; fewer, larger batches amortise per-batch work
_ROW_KEY = ["stay_id", "itemid", "charttime", "_value_hash"]  # an event's source row, for the duplicate check
# why `_to_events` drops a row (0: kept); the counts' keys
_DROPPED = {1: "non_numeric_value", 2: "out_of_valid_range", 3: "unmapped_category"}


def item_table(source: str) -> pl.DataFrame:
    """itemid -> variable, kind, unit conversion and valid range, for `source` "chart" or "lab"."""
    rows = []
    for v in VARIABLES:
        for item in v.chart_itemids if source == "chart" else v.lab_itemids:
            conv = (
                "f_to_c"
                if item in v.fahrenheit_itemids
                else "lb_to_kg"
                if item in v.pound_itemids
                else "oz_to_kg"
                if item in v.ounce_itemids
                else "in_to_cm"
                if item in v.inch_itemids
                else "percent_to_fraction"
                if v.name == "fio2"
                else "none"
            )
            low, high = v.valid_range if v.valid_range else (None, None)
            rows.append(
                {"itemid": item, "variable": v.name, "kind": v.kind, "conv": conv, "low": low, "high": high}
            )
    schema = {
        "itemid": pl.Int64,
        "variable": pl.String,
        "kind": pl.String,
        "conv": pl.String,
        "low": pl.Float64,
        "high": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def category_table() -> pl.DataFrame:
    """(variable, lower-cased chart text) -> benchmark category, for the 5 categorical variables."""
    rows = [
        {"variable": v.name, "key": k, "category": c}
        for v in CATEGORICAL_VARIABLES
        for k, c in v.text_map.items()
    ]
    return pl.DataFrame(rows, schema={"variable": pl.String, "key": pl.String, "category": pl.String})


def _convert(num: pl.Expr) -> pl.Expr:
    conv = pl.col("conv")
    return (
        pl.when(conv == "f_to_c")
        .then((num - 32) * 5 / 9)
        .when(conv == "lb_to_kg")
        .then(num * 0.453592)
        .when(conv == "oz_to_kg")
        .then(num * 0.0283495)
        .when(conv == "in_to_cm")
        .then(num * 2.54)
        .when((conv == "percent_to_fraction") & (num > 1.0))
        .then(num / 100)
        .otherwise(num)
    )


def _in_window(rows: pl.DataFrame, stays: pl.DataFrame, key: str, window_us: int) -> pl.DataFrame:
    """Rows (key, itemid, charttime text, value, valuenum) of the window
    intime <= charttime < intime + window.

    stays: (key, stay_id, intime) sorted by key; every row's key is among them. When the keys are
    unique (always for stay_id; hadm_id under one_stay_per_admission) each row finds its stay by
    binary search (`search_sorted`: no hash table rebuilt per batch); otherwise by a join, which
    repeats an admission's lab rows for each of its stays. charttime is parsed with the exact MIMIC
    format (no format inference, no cache of unique strings: both cost more than they save on
    timestamps); a value that is no timestamp raises.
    """
    if stays[key].is_sorted() and stays[key].n_unique() == stays.height:
        found = stays.drop(key)[stays[key].search_sorted(rows[key])]
        rows = rows.hstack(found)
    else:
        rows = rows.join(stays, on=key)
    rows = rows.with_columns(
        pl.col("charttime").str.strptime(pl.Datetime("us"), MIMIC_TIME, strict=True, exact=True, cache=False)
    )
    since = (pl.col("charttime") - pl.col("intime")).dt.total_microseconds()
    return rows.filter((since >= 0) & (since < window_us)).select(_RAW)


def _read_events(
    sources: Sources,
    name: str,
    key: str,
    items: pl.DataFrame,
    stays: pl.DataFrame,
    config: BuildConfig,
    streaming: bool,
    counts: dict[str, Any],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One pass over table `name`: (events of `items` in the window, their GCS-part rows), adding to `counts`.

    key: "stay_id" (chartevents) or "hadm_id" (labevents: joined to the admission's stay). Each
    batch is turned into events at once, so no batch's text buffers outlive it; the events keep
    their row's key (`_ROW_KEY`) and drop reason until the end, where repeated rows are removed
    (counted in counts["duplicate_rows"][name]) before the drop reasons are counted.
    streaming=False collects the filtered table at once with the in-memory engine (same result).
    """
    what = sources.describe(name)
    frame = sources.scan(name).filter(pl.col(key).is_in(stays[key].implode()))
    frame = frame.select(key, *(c for c in _RAW if c != "stay_id"))
    stays = stays.select(*dict.fromkeys([key, "stay_id", "intime"])).sort(key)
    window_us = config.window_hours * 3_600_000_000
    ids = items["itemid"].implode()  # includes the GCS parts (gcs_eye, gcs_verbal, gcs_motor itemids)
    events, gcs = [_to_events(_raw_schema(), items)], [_raw_schema()]
    rows = 0
    try:
        batches = (
            frame.collect_batches(chunk_size=BATCH_ROWS, engine="streaming")
            if streaming
            else [collect(frame, what)]
        )
        for batch in batches:
            rows += batch.height
            ours = batch["itemid"].is_in(ids)
            counts["ignored_itemid_rows"] += batch.height - int(ours.sum())
            raw = _in_window(batch.filter(ours), stays, key, window_us)
            events.append(_to_events(raw, items))
            gcs.append(
                raw.filter(pl.col("itemid").is_in(list(GCS_PARTS))).with_columns(
                    value=pl.lit(None, pl.String)
                )
            )
    except READ_ERRORS as exc:
        raise read_error(exc, what) from exc
    if rows == 0:
        logger.warning(
            "%s has no rows for the cohort's %s (an empty table?): no values from it, the variables "
            "charted only there will be all missing",
            what,
            "stays" if key == "stay_id" else "admissions",
        )
    events = pl.concat(events, rechunk=True)
    unique = events.unique(_ROW_KEY, keep="first", maintain_order=True)
    counts["duplicate_rows"][name] = events.height - unique.height
    if counts["duplicate_rows"][name]:
        logger.warning(
            "%s: %d exactly repeated rows of the 17 variables inside the window dropped "
            "(counted as duplicate_rows)",
            what,
            counts["duplicate_rows"][name],
        )
    reasons = unique["_dropped"].value_counts()
    for code, n in zip(reasons["_dropped"].to_list(), reasons["count"].to_list(), strict=True):
        if code:
            counts[_DROPPED[code]] += n
    events = unique.filter(pl.col("_dropped") == 0).select(list(EVENT_SCHEMA))
    return events, pl.concat(gcs, rechunk=True)


def _raw_schema() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "stay_id": pl.Int64,
            "itemid": pl.Int64,
            "charttime": pl.Datetime("us"),
            "value": pl.String,
            "valuenum": pl.Float64,
        }
    )


def _gcs_total(raw: pl.DataFrame) -> pl.DataFrame:
    """GCS total = eye + verbal + motor where all three parts share a (stay, charttime).

    A part charted more than once at that time counts once, with its last value in `raw`'s order.
    """
    parts = (
        raw.filter(pl.col("itemid").is_in(list(GCS_PARTS)) & pl.col("valuenum").is_not_null())
        .group_by("stay_id", "charttime", "itemid", maintain_order=True)
        .agg(pl.col("valuenum").last())
        .group_by("stay_id", "charttime")
        .agg(n=pl.len(), total=pl.col("valuenum").sum())
    )
    return parts.filter(pl.col("n") == 3).select(
        "stay_id",
        "charttime",
        variable=pl.lit("gcs_total"),
        num=pl.lit(None, pl.Float64),
        cat=pl.col("total").round(0).cast(pl.Int64).cast(pl.String),
    )


def _to_events(raw: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """Raw rows (stay_id, itemid, charttime, value, valuenum) -> converted events, one per row.

    Columns: those of `EVENT_SCHEMA`, then `itemid`, `_value_hash` (of value and valuenum: with
    stay_id, itemid and charttime the row's key) and `_dropped` (0, or the `_DROPPED` code of why
    the row gives no event: no number, out of the valid range, an unmapped category).
    """
    rows = raw.join(items, on="itemid", how="inner", maintain_order="left").with_columns(
        _value_hash=pl.struct("value", "valuenum").hash(0)
    )
    numeric = rows.filter(pl.col("kind") == "numeric").with_columns(
        num=_convert(
            pl.coalesce(pl.col("valuenum"), pl.col("value").str.strip_chars().cast(pl.Float64, strict=False))
        )
    )
    in_range = pl.col("low").is_null() | (
        (pl.col("num") >= pl.col("low")) & (pl.col("num") <= pl.col("high"))
    )
    numeric = numeric.select(
        "stay_id",
        "charttime",
        "variable",
        "num",
        cat=pl.lit(None, pl.String),
        _dropped=pl.when(pl.col("num").is_null()).then(1).when(~in_range).then(2).otherwise(0),
        itemid="itemid",
        _value_hash="_value_hash",
    )

    key = pl.col("value").str.strip_chars().str.to_lowercase()
    cats = category_table()
    categorical = (
        rows.filter(pl.col("kind") == "categorical")
        .with_columns(key=key, key2=key.str.replace(r"\.0$", ""))
        .join(cats, on=["variable", "key"], how="left", maintain_order="left")
        .join(
            cats.rename({"key": "key2", "category": "category2"}),
            on=["variable", "key2"],
            how="left",
            maintain_order="left",
        )
        .select(
            "stay_id",
            "charttime",
            "variable",
            num=pl.lit(None, pl.Float64),
            cat=pl.coalesce("category", "category2"),
            itemid="itemid",
            _value_hash="_value_hash",
        )
        .with_columns(_dropped=pl.when(pl.col("cat").is_null()).then(3).otherwise(0))
    )
    schema = {**EVENT_SCHEMA, "itemid": pl.Int64, "_value_hash": pl.UInt64, "_dropped": pl.UInt8}
    return pl.concat([frame.select(list(schema)).cast(schema) for frame in (numeric, categorical)])


def extract_events(
    sources: Sources,
    stays: pl.DataFrame,
    config: BuildConfig,
    streaming: bool = True,
    count_ignored: bool = True,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Events of the 17 variables inside the window for the cohort's stays.

    stays: the cohort (stay_id, hadm_id, intime). Returns (events, counts) where events has columns
    stay_id, charttime, variable, num (numeric variables) and cat (categorical ones), in table
    order (GCS totals, chart rows in file order, then lab rows), and counts holds the rows
    dropped per reason (`ignored_itemid_rows`: rows of the cohort's stays whose itemid is none of
    the 17 variables'; counted in the same pass, `count_ignored=False` reports 0) and
    `duplicate_rows` per table (exact repeats among the rows kept; a lab row repeated in the file
    counts once per stay of its admission). A missing or empty event table gives no events and a
    logged warning.
    """
    counts = {
        "non_numeric_value": 0,
        "out_of_valid_range": 0,
        "unmapped_category": 0,
        "ignored_itemid_rows": 0,
        "missing_tables": 0,
        "duplicate_rows": {"chartevents": 0, "labevents": 0},
    }
    parts: list[pl.DataFrame] = []
    for name, source, key in (("chartevents", "chart", "stay_id"), ("labevents", "lab", "hadm_id")):
        if not sources.has(name):
            counts["missing_tables"] += 1
            logger.warning(
                "%s not found under %s: its variables will be all missing (an empty modality). "
                "The public MIMIC-IV demo has no icu/chartevents.",
                sources.describe(name),
                sources.root,
            )
            continue
        items = item_table(source)
        ignored_before = counts["ignored_itemid_rows"]
        table_events, gcs_parts = _read_events(sources, name, key, items, stays, config, streaming, counts)
        if not count_ignored:
            counts["ignored_itemid_rows"] = ignored_before
        logger.info(
            "%s: %d values of the 17 variables inside the %d h window",
            name,
            table_events.height,
            config.window_hours,
        )
        if source == "chart":
            parts.append(_gcs_total(gcs_parts))
        parts.append(table_events)
    events = (
        pl.concat([p.select(list(EVENT_SCHEMA)).cast(EVENT_SCHEMA) for p in parts])
        if parts
        else pl.DataFrame(schema=EVENT_SCHEMA)
    )
    for reason in ("non_numeric_value", "out_of_valid_range", "unmapped_category"):
        if counts[reason]:
            logger.info("time series: %d values dropped (%s)", counts[reason], reason)
    return events, counts
