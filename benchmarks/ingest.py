"""Ingest benchmark: hourly time series from >= 10M chartevents rows, our polars reader vs pandas.

Generates a MIMIC-IV-shaped root once (numpy, cached under runs/bench_ingest/<rows>/): hosp/patients,
hosp/admissions, icu/icustays for `--stays` stays and icu/chartevents with `--rows` rows, 40 % of
them of the 17 variables' itemids, charted over each stay's first 5 days. Then builds the 48 h hourly
table of the cohort's stays with
  - ours:   `emerge.data.timeseries.extract_events` + `hourly_table` (polars lazy scan, filters pushed
            down before collecting, streaming engine);
  - pandas: a straightforward implementation (read_csv of the needed columns, filter, merge, convert,
            last value per hour, pivot);
each in its own subprocess so that peak memory (ru_maxrss) is that implementation's alone. Both must
produce the same number of observed (stay, hour, variable) values. Prints a markdown table.

    python benchmarks/ingest.py --rows 10000000 --out benchmarks/results/ingest.md
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MIMIC_IV_CHARTEVENTS_ROWS = 313_645_063  # MIMIC-IV 2.2 icu/chartevents
OTHER_ITEMIDS = np.arange(225000, 225400)  # itemids of no variable (ventilator settings, lines, ...)


def _our_itemids() -> np.ndarray:
    from emerge.data.variables import VARIABLES
    return np.array(sorted({i for v in VARIABLES if v.kind == "numeric" for i in v.chart_itemids if i > 200000}))


def generate(root: Path, rows: int, stays: int, seed: int = 0) -> Path:
    """Write the synthetic root (skipped when root/DONE exists)."""
    if (root / "DONE").exists():
        return root
    import polars as pl

    shutil.rmtree(root, ignore_errors=True)
    (root / "hosp").mkdir(parents=True)
    (root / "icu").mkdir()
    rng = np.random.default_rng(seed)
    stay_ids = np.arange(30_000_000, 30_000_000 + stays)
    subject = np.arange(10_000_000, 10_000_000 + stays)
    hadm = np.arange(20_000_000, 20_000_000 + stays)
    base = np.datetime64("2150-01-01T00:00:00", "us")
    intime = base + rng.integers(0, 3650 * 86400, stays).astype("timedelta64[s]")
    los_h = rng.uniform(12, 240, stays)
    outtime = intime + (los_h * 3600).astype("timedelta64[s]")
    fmt = "%Y-%m-%d %H:%M:%S"
    pl.DataFrame({"subject_id": subject, "gender": rng.choice(["M", "F"], stays), "anchor_age": rng.integers(18, 90, stays),
                  "anchor_year": 2150, "anchor_year_group": "2011 - 2013", "dod": None}).write_csv(root / "hosp/patients.csv")
    pl.DataFrame({"subject_id": subject, "hadm_id": hadm, "admittime": intime - np.timedelta64(3600, "s"),
                  "dischtime": outtime + np.timedelta64(86400, "s"), "deathtime": None,
                  "hospital_expire_flag": (rng.random(stays) < 0.12).astype(int)}).with_columns(
        pl.col("admittime", "dischtime").dt.strftime(fmt)).write_csv(root / "hosp/admissions.csv")
    pl.DataFrame({"subject_id": subject, "hadm_id": hadm, "stay_id": stay_ids, "first_careunit": "MICU",
                  "last_careunit": "MICU", "intime": intime, "outtime": outtime, "los": los_h / 24}).with_columns(
        pl.col("intime", "outtime").dt.strftime(fmt)).write_csv(root / "icu/icustays.csv")
    ours = _our_itemids()
    path = root / "icu/chartevents.csv"
    chunk = 2_000_000
    with open(path, "wb") as fh:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            which = rng.integers(0, stays, n)
            item = np.where(rng.random(n) < 0.4, rng.choice(ours, n), rng.choice(OTHER_ITEMIDS, n))
            offset = (rng.uniform(0, 120, n) * 3600).astype("timedelta64[s]")
            value = np.round(rng.normal(80, 20, n), 1)
            frame = pl.DataFrame({
                "subject_id": subject[which], "hadm_id": hadm[which], "stay_id": stay_ids[which], "caregiver_id": 1,
                "charttime": (intime[which] + offset), "storetime": None, "itemid": item,
                "value": value.astype(str), "valuenum": value, "valueuom": "bpm", "warning": 0,
            }).with_columns(pl.col("charttime").dt.strftime(fmt))
            fh.write(frame.write_csv(include_header=start == 0).encode())
    (root / "DONE").write_text("ok")
    return root


def gzip_copy(root: Path) -> Path:
    """The same root with chartevents gzipped (level 1), as MIMIC ships it."""
    gz_root = root.with_name(root.name + "_gz")
    if (gz_root / "DONE").exists():
        return gz_root
    shutil.rmtree(gz_root, ignore_errors=True)
    shutil.copytree(root, gz_root, ignore=shutil.ignore_patterns("chartevents.csv", "DONE"))
    with open(root / "icu/chartevents.csv", "rb") as src, gzip.open(gz_root / "icu/chartevents.csv.gz", "wb", 1) as dst:
        shutil.copyfileobj(src, dst, 16 << 20)
    (gz_root / "DONE").write_text("ok")
    return gz_root


def run_ours(root: Path) -> dict:
    from emerge.data.cohort import load_tables, select_cohort
    from emerge.data.config import BuildConfig
    from emerge.data.sources import Sources
    from emerge.data.timeseries import extract_events, hourly_table

    config = BuildConfig(version="iv")
    sources = Sources(root, "iv")
    cohort, _ = select_cohort(load_tables(sources), config)
    events, counts = extract_events(sources, cohort, config, streaming=True, count_ignored=False)
    table = hourly_table(events, cohort, config)
    observed = sum(int(table[f"{v}_observed"].sum()) for v in ("heart_rate", "systolic_bp", "diastolic_bp",
                                                                "mean_bp", "respiratory_rate", "spo2", "temperature",
                                                                "weight", "height", "fio2", "glucose", "ph"))
    return {"stays": cohort.height, "observed": observed}


def run_pandas(root: Path) -> dict:
    """A straightforward pandas implementation of the same hourly table (numeric chart variables)."""
    import pandas as pd

    from emerge.data.variables import NUMERIC_VARIABLES

    stays = pd.read_csv(root / "icu/icustays.csv", parse_dates=["intime", "outtime"])
    patients = pd.read_csv(root / "hosp/patients.csv")
    stays = stays.merge(patients[["subject_id", "anchor_age"]], on="subject_id")
    per_adm = stays.groupby("hadm_id")["stay_id"].transform("count")
    hours = (stays["outtime"] - stays["intime"]).dt.total_seconds() / 3600
    cohort = stays[(stays["anchor_age"] >= 18) & (per_adm == 1) & (stays["first_careunit"] == stays["last_careunit"])
                   & (hours >= 48)]
    item_var, conv, rng_lo, rng_hi = {}, {}, {}, {}
    for v in NUMERIC_VARIABLES:
        for i in v.chart_itemids:
            item_var[i] = v.name
            conv[i] = ("f" if i in v.fahrenheit_itemids else "lb" if i in v.pound_itemids else
                       "in" if i in v.inch_itemids else "pct" if v.name == "fio2" else "")
            rng_lo[i], rng_hi[i] = v.valid_range
    ce = pd.read_csv(root / "icu/chartevents.csv", usecols=["stay_id", "itemid", "charttime", "value", "valuenum"])
    ce = ce[ce["itemid"].isin(list(item_var)) & ce["stay_id"].isin(cohort["stay_id"])]
    ce = ce.merge(cohort[["stay_id", "intime"]], on="stay_id")
    ce["charttime"] = pd.to_datetime(ce["charttime"], format="%Y-%m-%d %H:%M:%S")
    ce["hour"] = (ce["charttime"] - ce["intime"]).dt.total_seconds() // 3600
    ce = ce[(ce["hour"] >= 0) & (ce["hour"] < 48)].copy()
    num = ce["valuenum"].fillna(pd.to_numeric(ce["value"], errors="coerce"))
    c = ce["itemid"].map(conv)
    num = num.where(c != "f", (num - 32) * 5 / 9).where(c != "lb", num * 0.453592).where(c != "in", num * 2.54)
    num = num.where(~((c == "pct") & (num > 1)), num / 100)
    ce["num"] = num
    ce = ce[(num >= ce["itemid"].map(rng_lo)) & (num <= ce["itemid"].map(rng_hi))]
    ce["variable"] = ce["itemid"].map(item_var)
    last = ce.sort_values("charttime").groupby(["stay_id", "hour", "variable"])["num"].last()
    wide = last.unstack("variable")
    return {"stays": len(cohort), "observed": int(wide.notna().sum().sum())}


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would include the parent's at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(impl: str, root: Path) -> None:
    import pandas  # noqa: F401  (imports are not timed)
    import polars  # noqa: F401

    import emerge.data.timeseries  # noqa: F401
    start = time.perf_counter()
    result = (run_ours if impl == "ours" else run_pandas)(root)
    result["seconds"] = time.perf_counter() - start
    result["peak_rss_mb"] = _peak_rss_mb()
    print("RESULT " + json.dumps(result))


def measure(impl: str, root: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", impl, "--root", str(root)], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--stays", type=int, default=50_000)
    parser.add_argument("--cache", type=Path, default=Path("runs/bench_ingest"))
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    parser.add_argument("--gzip", action="store_true", help="also time ours on chartevents.csv.gz")
    parser.add_argument("--child", choices=["ours", "pandas"], default=None)
    parser.add_argument("--root", type=Path, default=None)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.root)
        return
    t = time.perf_counter()
    root = generate(args.cache / f"rows{args.rows}_stays{args.stays}", args.rows, args.stays)
    size_mb = (root / "icu/chartevents.csv").stat().st_size / 1e6
    print(f"data: {args.rows:,} chartevents rows ({size_mb:,.0f} MB CSV) for {args.stays:,} stays, "
          f"ready in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    runs = [("ours (polars lazy, streaming), .csv", measure("ours", root)),
            ("pandas read_csv, .csv", measure("pandas", root))]
    if args.gzip:
        runs.append(("ours (polars lazy, streaming), .csv.gz", measure("ours", gzip_copy(root))))
    ours, pandas = runs[0][1], runs[1][1]
    if ours["observed"] != pandas["observed"]:
        raise SystemExit(f"implementations disagree: ours {ours['observed']} vs pandas {pandas['observed']} values")
    lines = [f"## Ingest: 48 h hourly table from {args.rows:,} chartevents rows ({size_mb:,.0f} MB), "
             f"{ours['stays']:,} cohort stays of {args.stays:,}", "",
             f"Machine: {os.cpu_count()} CPU cores. Both produce {ours['observed']:,} observed (stay, hour, "
             f"variable) values. Command: `python benchmarks/ingest.py --rows {args.rows} --stays {args.stays}"
             f"{' --gzip' if args.gzip else ''}`.", "",
             "| implementation | seconds | rows/s | peak RSS (MB) | est. MIMIC-IV 313M rows |",
             "|---|---:|---:|---:|---:|"]
    for name, r in runs:
        rate = args.rows / r["seconds"]
        lines.append(f"| {name} | {r['seconds']:.1f} | {rate:,.0f} | {r['peak_rss_mb']:,.0f} | "
                     f"{MIMIC_IV_CHARTEVENTS_ROWS / rate / 60:.1f} min |")
    lines += ["", f"Speed-up of ours over pandas: **{pandas['seconds'] / ours['seconds']:.1f}x**; peak memory "
              f"{ours['peak_rss_mb']:,.0f} MB vs {pandas['peak_rss_mb']:,.0f} MB "
              f"({pandas['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x less).", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
