"""The events of each stay laid on its hourly grid: last value per (stay, step, variable).

`hourly_series` computes, for each event, its flat position in the [N, T, V] grid from the
stay's row in the cohort, the step (integer microseconds since intime // bin width) and the
variable, keeps the last event per position (sorted by charttime; ties keep the later event in
`events` order), and writes the values into dense numpy arrays with one vectorised scatter: no
per-stay loop, no pivot, no join against the dense N x T grid. The benchmark's discretizer also
keeps the last value in each step.

`HourlySeries.table` gives the long table saved as `timeseries.parquet`; `build` feeds the
arrays straight to the normalizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from emerge.data.config import BuildConfig
from emerge.data.variables import BENCHMARK_CATEGORIES, CATEGORICAL_VARIABLES, NUMERIC_VARIABLES, VARIABLES

__all__ = ["HourlySeries", "hourly_series", "hourly_table"]


@dataclass(frozen=True)
class HourlySeries:
    """Dense hourly values of N stays x T steps.

    numeric: [N, T, 12] float64 in `NUMERIC_VARIABLES` order, NaN where not charted.
    cat_index: [N, T, 5] int32 in `CATEGORICAL_VARIABLES` order, index into `vocab[variable]`, -1
        where not charted. vocab[v] starts with `BENCHMARK_CATEGORIES[v]` (so the index is the
        benchmark's one-hot position) followed by any other category text seen (kept in the table,
        missing for the normalizer).
    """

    stay_id: np.ndarray
    numeric: np.ndarray
    cat_index: np.ndarray
    vocab: dict[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        n, t = self.numeric.shape[:2]
        if (
            self.numeric.shape != (n, t, len(NUMERIC_VARIABLES))
            or self.cat_index.shape != (n, t, len(CATEGORICAL_VARIABLES))
            or self.stay_id.shape != (n,)
        ):
            raise ValueError(
                f"inconsistent shapes: stay_id {self.stay_id.shape}, numeric {self.numeric.shape}, "
                f"cat_index {self.cat_index.shape}"
            )

    @property
    def codes(self) -> np.ndarray:
        """[N, T, 5] int64 benchmark category index, -1 where missing or not a benchmark category."""
        width = np.array([len(BENCHMARK_CATEGORIES[v.name]) for v in CATEGORICAL_VARIABLES])
        return np.where(self.cat_index < width, self.cat_index, -1).astype(np.int64)

    @property
    def mask(self) -> np.ndarray:
        """[N, T, 17] uint8 in `VARIABLES` order: 1 where the variable was charted in the step."""
        observed = np.concatenate([self.cat_index >= 0, ~np.isnan(self.numeric)], axis=-1).view(np.uint8)
        order = [v.name for v in CATEGORICAL_VARIABLES + NUMERIC_VARIABLES]
        return np.ascontiguousarray(observed[:, :, [order.index(v.name) for v in VARIABLES]])

    def table(self) -> pl.DataFrame:
        """One row per (stay, step) in cohort order: stay_id, hour, the 17 variables (Float64 numeric,
        String category, null where not charted) and `<variable>_observed`."""
        n, t, _ = self.numeric.shape
        columns: dict[str, pl.Series] = {}
        for j, v in enumerate(NUMERIC_VARIABLES):
            columns[v.name] = pl.Series(
                v.name, self.numeric[:, :, j].reshape(-1), pl.Float64, nan_to_null=True
            )
        for j, v in enumerate(CATEGORICAL_VARIABLES):
            index = pl.Series(self.cat_index[:, :, j].reshape(-1))
            columns[v.name] = pl.select(
                pl.lit(pl.Series(self.vocab[v.name], dtype=pl.String))
                .gather(pl.when(index >= 0).then(index))
                .alias(v.name)
            ).to_series()
        frame = pl.DataFrame(
            {
                "stay_id": np.repeat(self.stay_id.astype(np.int64), t),
                "hour": np.tile(np.arange(t, dtype=np.int32), n),
            }
        )
        frame = frame.with_columns(columns[v.name] for v in VARIABLES)
        return frame.with_columns(pl.col(v.name).is_not_null().alias(f"{v.name}_observed") for v in VARIABLES)


def _last_per_cell(
    events: pl.DataFrame, stays: pl.DataFrame, config: BuildConfig, names: list[str]
) -> pl.DataFrame:
    """Events of variables `names` -> (cell, num, cat) with one row per occupied grid cell, its last event.

    stays: (stay_id, intime, _row) sorted by stay_id. cell = (stay row * T + step) * len(names) +
    the variable's position in `names`. Events of other stays or outside the grid's steps (none
    from `extract_events`) are left out. One stable sort on a single int64 key (cell, then time
    inside the step) orders each cell's events; ties keep `events` order, and the last one wins.
    """
    t, width, n = config.steps, len(names), stays.height
    bin_us = config.bin_hours * 3_600_000_000
    part = events.filter(pl.col("variable").is_in(names))
    if n == 0 or part.height == 0:
        return pl.DataFrame(schema={"cell": pl.Int64, "num": pl.Float64, "cat": pl.String})
    position = pl.col("variable").replace_strict(names, list(range(width)), return_dtype=pl.Int64)
    at = stays["stay_id"].search_sorted(part["stay_id"]).clip(0, n - 1)
    part = part.with_columns(stays.select("stay_id", "intime", "_row")[at].rename({"stay_id": "_found"}))
    since = (pl.col("charttime") - pl.col("intime")).dt.total_microseconds()
    part = part.filter(
        (pl.col("_found") == pl.col("stay_id")) & (since >= 0) & (since < t * bin_us)
    ).with_columns(cell=(pl.col("_row") * t + since // bin_us) * width + position, within=since % bin_us)
    if n * t * width < (1 << 62) // bin_us:  # the single key fits in an int64
        part = part.sort(pl.col("cell") * bin_us + pl.col("within"), maintain_order=True)
    else:
        part = part.sort("cell", "within", maintain_order=True)
    return part.filter(pl.col("cell") != pl.col("cell").shift(-1).fill_null(-1)).select("cell", "num", "cat")


def hourly_series(events: pl.DataFrame, stays: pl.DataFrame, config: BuildConfig) -> HourlySeries:
    """Lay `events` (stay_id, charttime, variable, num, cat; from `extract_events`, inside the window)
    on the grid of `stays` (stay_id, intime; the output keeps their order) x `config.steps` steps."""
    n, t = stays.height, config.steps
    grid = stays.select(pl.col("stay_id").cast(pl.Int64), "intime", _row=pl.int_range(n, dtype=pl.Int64))
    if grid["stay_id"].n_unique() != n:
        raise ValueError("stays has repeated stay_id values; pass one row per ICU stay (the cohort)")
    by_id = grid.sort("stay_id")
    numeric_names = [v.name for v in NUMERIC_VARIABLES]
    numeric = np.full(n * t * len(numeric_names), np.nan)
    cells = _last_per_cell(events, by_id, config, numeric_names)
    numeric[cells["cell"].to_numpy()] = cells["num"].to_numpy()

    cat_names = [v.name for v in CATEGORICAL_VARIABLES]
    cat_index = np.full(n * t * len(cat_names), -1, dtype=np.int32)
    cells = _last_per_cell(events, by_id, config, cat_names)
    seen = cells.select(
        variable=pl.lit(pl.Series(cat_names)).gather(pl.col("cell") % len(cat_names)), cat="cat"
    )
    vocab: dict[str, tuple[str, ...]] = {}
    for name in cat_names:
        extra = seen.filter((pl.col("variable") == name) & ~pl.col("cat").is_in(BENCHMARK_CATEGORIES[name]))
        vocab[name] = BENCHMARK_CATEGORIES[name] + tuple(sorted(extra["cat"].unique().to_list()))
    lookup = pl.DataFrame(
        [(name, c, i) for name in cat_names for i, c in enumerate(vocab[name])],
        schema={"variable": pl.String, "cat": pl.String, "index": pl.Int32},
        orient="row",
    )
    indexed = seen.with_columns(cell=cells["cell"]).join(
        lookup, on=["variable", "cat"], maintain_order="left"
    )
    cat_index[indexed["cell"].to_numpy()] = indexed["index"].to_numpy()
    return HourlySeries(
        grid["stay_id"].to_numpy(), numeric.reshape(n, t, -1), cat_index.reshape(n, t, -1), vocab
    )


def hourly_table(events: pl.DataFrame, stays: pl.DataFrame, config: BuildConfig) -> pl.DataFrame:
    """`hourly_series(...).table()`: one row per (stay, step), see `HourlySeries.table`."""
    return hourly_series(events, stays, config).table()
