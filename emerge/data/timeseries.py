"""Hourly time series of the 17 benchmark variables from chartevents and labevents.

`extract_events` scans the event tables lazily and keeps only rows of the cohort's stays, of the
17 variables' itemids and inside the observation window before anything is collected (the
streaming engine reads MIMIC-IV's 313M chartevents rows in bounded memory). Then per row:
- numeric variables: `valuenum` (else the text parsed as a number), converted to one unit
  (F -> C, lb/oz -> kg, in -> cm, FiO2 percent -> fraction when > 1); values outside the variable's
  `valid_range` are dropped and counted;
- categorical variables: the chart text mapped to the benchmark's categories (`text_map`); unmapped
  text is dropped and counted;
- GCS total (MetaVision / MIMIC-IV chart it only as its three parts): eye + verbal + motor, when all
  three are charted at the same time for the stay.
`hourly_table` then keeps the last value per (stay, hour, variable), as the benchmark's
discretizer does, on a full grid of cohort stays x time steps.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import polars as pl

from emerge.data.config import BuildConfig
from emerge.data.sources import Sources, collect, collect_all, parse_times
from emerge.data.variables import CATEGORICAL_VARIABLES, NUMERIC_VARIABLES, VARIABLES

__all__ = ["extract_events", "hourly_table", "item_table", "category_table", "GCS_PARTS"]

logger = logging.getLogger(__name__)

GCS_PARTS = {220739: "eye", 223900: "verbal", 223901: "motor"}  # MetaVision / MIMIC-IV GCS parts
MIMIC_TIME = "%Y-%m-%d %H:%M:%S"  # charttime format of MIMIC-III and MIMIC-IV event tables
_EVENT_SCHEMA = {"stay_id": pl.Int64, "charttime": pl.Datetime("us"), "variable": pl.String,
                 "num": pl.Float64, "cat": pl.String}


def item_table(source: str) -> pl.DataFrame:
    """itemid -> variable, kind, unit conversion and valid range, for `source` "chart" or "lab"."""
    rows = []
    for v in VARIABLES:
        for item in (v.chart_itemids if source == "chart" else v.lab_itemids):
            conv = ("f_to_c" if item in v.fahrenheit_itemids else "lb_to_kg" if item in v.pound_itemids
                    else "oz_to_kg" if item in v.ounce_itemids else "in_to_cm" if item in v.inch_itemids
                    else "percent_to_fraction" if v.name == "fio2" else "none")
            low, high = v.valid_range if v.valid_range else (None, None)
            rows.append({"itemid": item, "variable": v.name, "kind": v.kind, "conv": conv, "low": low, "high": high})
    schema = {"itemid": pl.Int64, "variable": pl.String, "kind": pl.String, "conv": pl.String,
              "low": pl.Float64, "high": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def category_table() -> pl.DataFrame:
    """(variable, lower-cased chart text) -> benchmark category, for the 5 categorical variables."""
    rows = [{"variable": v.name, "key": k, "category": c} for v in CATEGORICAL_VARIABLES for k, c in v.text_map.items()]
    return pl.DataFrame(rows, schema={"variable": pl.String, "key": pl.String, "category": pl.String})


def _convert(num: pl.Expr) -> pl.Expr:
    conv = pl.col("conv")
    return (pl.when(conv == "f_to_c").then((num - 32) * 5 / 9)
            .when(conv == "lb_to_kg").then(num * 0.453592)
            .when(conv == "oz_to_kg").then(num * 0.0283495)
            .when(conv == "in_to_cm").then(num * 2.54)
            .when((conv == "percent_to_fraction") & (num > 1.0)).then(num / 100)
            .otherwise(num))


def _window(frame: pl.LazyFrame, config: BuildConfig) -> pl.LazyFrame:
    """Keep events with intime <= charttime < intime + window (the first 48 h of the stay)."""
    end = pl.col("intime") + timedelta(hours=config.window_hours)
    return frame.filter((pl.col("charttime") >= pl.col("intime")) & (pl.col("charttime") < end))


def _chart_rows(sources: Sources, stays: pl.DataFrame, items: pl.DataFrame,
                config: BuildConfig) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(rows of our itemids in the window, count of the cohort stays' rows with other itemids)."""
    ids = pl.Series(items["itemid"].to_list() + list(GCS_PARTS)).implode()
    scan = sources.scan("chartevents").filter(pl.col("stay_id").is_in(stays["stay_id"].implode()))
    frame = scan.filter(pl.col("itemid").is_in(ids)).join(stays.lazy().select("stay_id", "intime"), on="stay_id")
    ignored = scan.filter(~pl.col("itemid").is_in(ids)).select(pl.len())
    return _window(parse_times(frame, ["charttime"], MIMIC_TIME), config).drop("intime"), ignored


def _lab_rows(sources: Sources, stays: pl.DataFrame, items: pl.DataFrame,
              config: BuildConfig) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(rows of our lab itemids in the window, count of the cohort admissions' rows with other itemids)."""
    ids = items["itemid"].implode()
    scan = sources.scan("labevents").filter(pl.col("hadm_id").is_in(stays["hadm_id"].implode()))
    frame = (scan.filter(pl.col("itemid").is_in(ids)).drop("subject_id")
             .join(stays.lazy().select("hadm_id", "stay_id", "intime"), on="hadm_id"))
    ignored = scan.filter(~pl.col("itemid").is_in(ids)).select(pl.len())
    frame = _window(parse_times(frame, ["charttime"], MIMIC_TIME), config)
    return frame.select("stay_id", "itemid", "charttime", "value", "valuenum"), ignored


def _gcs_total(raw: pl.DataFrame) -> pl.DataFrame:
    """GCS total = eye + verbal + motor where all three parts share a (stay, charttime)."""
    parts = (raw.filter(pl.col("itemid").is_in(list(GCS_PARTS)) & pl.col("valuenum").is_not_null())
             .group_by("stay_id", "charttime")
             .agg(n=pl.col("itemid").n_unique(), total=pl.col("valuenum").sum()))
    return (parts.filter(pl.col("n") == 3)
            .select("stay_id", "charttime", variable=pl.lit("gcs_total"), num=pl.lit(None, pl.Float64),
                    cat=pl.col("total").round(0).cast(pl.Int64).cast(pl.String)))


def _to_events(raw: pl.DataFrame, items: pl.DataFrame, counts: dict[str, int]) -> pl.DataFrame:
    """Raw rows (stay_id, itemid, charttime, value, valuenum) -> converted, validated events."""
    rows = raw.join(items, on="itemid", how="inner")
    numeric = rows.filter(pl.col("kind") == "numeric").with_columns(
        num=_convert(pl.coalesce(pl.col("valuenum"), pl.col("value").str.strip_chars().cast(pl.Float64, strict=False))))
    counts["non_numeric_value"] += int(numeric["num"].is_null().sum())
    numeric = numeric.filter(pl.col("num").is_not_null())
    in_range = (pl.col("low").is_null() | ((pl.col("num") >= pl.col("low")) & (pl.col("num") <= pl.col("high"))))
    counts["out_of_valid_range"] += int(numeric.filter(~in_range).height)
    numeric = numeric.filter(in_range).select("stay_id", "charttime", "variable", "num", cat=pl.lit(None, pl.String))

    key = pl.col("value").str.strip_chars().str.to_lowercase()
    cats = category_table()
    categorical = (rows.filter(pl.col("kind") == "categorical")
                   .with_columns(key=key, key2=key.str.replace(r"\.0$", ""))
                   .join(cats, on=["variable", "key"], how="left")
                   .join(cats.rename({"key": "key2", "category": "category2"}), on=["variable", "key2"], how="left")
                   .with_columns(cat=pl.coalesce("category", "category2")))
    counts["unmapped_category"] += int(categorical["cat"].is_null().sum())
    categorical = categorical.filter(pl.col("cat").is_not_null()).select(
        "stay_id", "charttime", "variable", num=pl.lit(None, pl.Float64), cat="cat")
    return pl.concat([numeric, categorical])


def extract_events(sources: Sources, stays: pl.DataFrame, config: BuildConfig,
                   streaming: bool = True, count_ignored: bool = True) -> tuple[pl.DataFrame, dict[str, int]]:
    """Events of the 17 variables inside the window for the cohort's stays.

    stays: the cohort (stay_id, hadm_id, intime). Returns (events, counts) where events has columns
    stay_id, charttime, variable, num (numeric variables) and cat (categorical ones), and counts
    holds the rows dropped per reason (`ignored_itemid_rows`: rows of the cohort's stays whose itemid
    is none of the 17 variables'; `count_ignored=False` skips that count). A missing event table
    gives no events and a logged warning.
    """
    counts = {"non_numeric_value": 0, "out_of_valid_range": 0, "unmapped_category": 0,
              "ignored_itemid_rows": 0, "missing_tables": 0}
    parts: list[pl.DataFrame] = []
    for name, source, reader in (("chartevents", "chart", _chart_rows), ("labevents", "lab", _lab_rows)):
        if not sources.has(name):
            counts["missing_tables"] += 1
            logger.warning("%s not found under %s: its variables will be all missing (an empty modality). "
                           "The public MIMIC-IV demo has no icu/chartevents.", sources.describe(name), sources.root)
            continue
        items = item_table(source)
        frame, ignored = reader(sources, stays, items, config)
        if count_ignored:
            raw, n_ignored = collect_all([frame, ignored], sources.describe(name), streaming=streaming)
            counts["ignored_itemid_rows"] += int(n_ignored.item())
        else:
            raw = collect(frame, sources.describe(name), streaming=streaming)
        logger.info("%s: %d rows of the 17 variables inside the %d h window", name, raw.height, config.window_hours)
        if source == "chart":
            parts.append(_gcs_total(raw))
        parts.append(_to_events(raw, items, counts))
    events = pl.concat([p.select(list(_EVENT_SCHEMA)).cast(_EVENT_SCHEMA) for p in parts]) if parts else \
        pl.DataFrame(schema=_EVENT_SCHEMA)
    for reason in ("non_numeric_value", "out_of_valid_range", "unmapped_category"):
        if counts[reason]:
            logger.info("time series: %d values dropped (%s)", counts[reason], reason)
    return events, counts


def hourly_table(events: pl.DataFrame, stays: pl.DataFrame, config: BuildConfig) -> pl.DataFrame:
    """One row per (stay, step): the last value of each variable in the step, NaN/null if none.

    Columns: stay_id, hour (0..T-1), one column per variable (Float64 numeric / String categorical)
    and `<variable>_observed` (Boolean). Row order: the order of `stays`, then hour.
    """
    bin_us = config.bin_hours * 3_600_000_000
    binned = (events.join(stays.select("stay_id", "intime"), on="stay_id")
              .with_columns(hour=((pl.col("charttime") - pl.col("intime")).dt.total_microseconds() // bin_us)
                            .cast(pl.Int32))
              .sort("stay_id", "hour", "charttime")
              .group_by("stay_id", "hour", "variable", maintain_order=True)
              .agg(pl.col("num").last(), pl.col("cat").last()))
    grid = stays.select("stay_id").with_row_index("_order").join(
        pl.DataFrame({"hour": pl.arange(0, config.steps, eager=True).cast(pl.Int32)}), how="cross")
    for kind, value, dtype in (("numeric", "num", pl.Float64), ("categorical", "cat", pl.String)):
        names = [v.name for v in VARIABLES if v.kind == kind]
        part = binned.filter(pl.col("variable").is_in(names))
        wide = (part.pivot("variable", index=["stay_id", "hour"], values=value) if part.height
                else pl.DataFrame(schema={"stay_id": pl.Int64, "hour": pl.Int32}))
        wide = wide.with_columns(pl.lit(None, dtype).alias(n) for n in names if n not in wide.columns)
        grid = grid.join(wide.select("stay_id", "hour", *[pl.col(n).cast(dtype) for n in names]),
                         on=["stay_id", "hour"], how="left")
    grid = grid.sort("_order", "hour").select("stay_id", "hour", *[v.name for v in VARIABLES])
    return grid.with_columns(pl.col(v.name).is_not_null().alias(f"{v.name}_observed") for v in VARIABLES)


__all__ += ["NUMERIC_VARIABLES"]
