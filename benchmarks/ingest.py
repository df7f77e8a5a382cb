"""Ingest benchmark: hourly time series from >= 10M chartevents rows, our polars reader vs pandas.

Generates a MIMIC-IV-shaped root once (numpy, cached under runs/bench_ingest/<rows>/): hosp/patients,
hosp/admissions, icu/icustays for `--stays` stays and icu/chartevents with `--rows` rows, 40 % of
them of the 17 variables' itemids, charted over each stay's first 5 days. Then builds the 48 h hourly
table of the cohort's stays with
  - ours:   `emerge.data.timeseries.extract_events` + `emerge.data.hourly.hourly_series`, what
            `emerge data build` runs: one streaming pass over chartevents in batches (projection of
            5 columns, stay filter pushed into the scan, itemid filter + ignored-itemid count + exact-
            format charttime parse + window per batch), then one vectorised scatter of the last value
            per (stay, hour, variable) into dense [N, 48, V] arrays;
  - pandas: a straightforward implementation (read_csv of the needed columns with their dtypes,
            filter, merge, to_datetime with the exact format, convert, sort, groupby last, unstack);
each in its own subprocess so that peak memory (VmHWM) and CPU time are that implementation's alone,
alternating ours / pandas `--repeat` times (the machine is shared: the load average is reported).
Both must produce the same number of observed (stay, hour, numeric variable) values. Prints a
markdown table.

    python benchmarks/ingest.py --rows 10000000 --stays 50000 --repeat 2 --gzip \
        --out benchmarks/results/ingest.md
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
import threading
import time
from pathlib import Path

import numpy as np

MIMIC_IV_CHARTEVENTS_ROWS = 313_645_063  # MIMIC-IV 2.2 icu/chartevents
OTHER_ITEMIDS = np.arange(225000, 225400)  # itemids of no variable (ventilator settings, lines, ...)


def _our_itemids() -> np.ndarray:
    from emerge.data.variables import VARIABLES

    return np.array(
        sorted({i for v in VARIABLES if v.kind == "numeric" for i in v.chart_itemids if i > 200000})
    )


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
    pl.DataFrame(
        {
            "subject_id": subject,
            "gender": rng.choice(["M", "F"], stays),
            "anchor_age": rng.integers(18, 90, stays),
            "anchor_year": 2150,
            "anchor_year_group": "2011 - 2013",
            "dod": None,
        }
    ).write_csv(root / "hosp/patients.csv")
    pl.DataFrame(
        {
            "subject_id": subject,
            "hadm_id": hadm,
            "admittime": intime - np.timedelta64(3600, "s"),
            "dischtime": outtime + np.timedelta64(86400, "s"),
            "deathtime": None,
            "hospital_expire_flag": (rng.random(stays) < 0.12).astype(int),
        }
    ).with_columns(pl.col("admittime", "dischtime").dt.strftime(fmt)).write_csv(root / "hosp/admissions.csv")
    pl.DataFrame(
        {
            "subject_id": subject,
            "hadm_id": hadm,
            "stay_id": stay_ids,
            "first_careunit": "MICU",
            "last_careunit": "MICU",
            "intime": intime,
            "outtime": outtime,
            "los": los_h / 24,
        }
    ).with_columns(pl.col("intime", "outtime").dt.strftime(fmt)).write_csv(root / "icu/icustays.csv")
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
            frame = pl.DataFrame(
                {
                    "subject_id": subject[which],
                    "hadm_id": hadm[which],
                    "stay_id": stay_ids[which],
                    "caregiver_id": 1,
                    "charttime": (intime[which] + offset),
                    "storetime": None,
                    "itemid": item,
                    "value": value.astype(str),
                    "valuenum": value,
                    "valueuom": "bpm",
                    "warning": 0,
                }
            ).with_columns(pl.col("charttime").dt.strftime(fmt))
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
    with (
        open(root / "icu/chartevents.csv", "rb") as src,
        gzip.open(gz_root / "icu/chartevents.csv.gz", "wb", 1) as dst,
    ):
        shutil.copyfileobj(src, dst, 16 << 20)
    (gz_root / "DONE").write_text("ok")
    return gz_root


def run_ours(root: Path) -> dict:
    """What `emerge data build` does for the time series: cohort, one streaming pass over chartevents
    (with the ignored-itemid count, as the build), last value per hour on the dense [N, 48, V] grid."""
    from emerge.data.cohort import load_tables, select_cohort
    from emerge.data.config import BuildConfig
    from emerge.data.hourly import hourly_series
    from emerge.data.sources import Sources
    from emerge.data.timeseries import extract_events
    from emerge.data.variables import VARIABLES

    config = BuildConfig(version="iv")
    sources = Sources(root, "iv")
    cohort, _ = select_cohort(load_tables(sources), config)
    events, counts = extract_events(sources, cohort, config, streaming=True)
    mask = hourly_series(events, cohort, config).mask
    numeric = [j for j, v in enumerate(VARIABLES) if v.kind == "numeric"]
    return {
        "stays": cohort.height,
        "observed": int(mask[:, :, numeric].sum()),
        "ignored_itemid_rows": counts["ignored_itemid_rows"],
    }


def run_pandas(root: Path) -> dict:
    """A straightforward pandas implementation of the same hourly table (numeric chart variables)."""
    import pandas as pd

    from emerge.data.variables import NUMERIC_VARIABLES

    stays = pd.read_csv(root / "icu/icustays.csv", parse_dates=["intime", "outtime"])
    patients = pd.read_csv(root / "hosp/patients.csv")
    stays = stays.merge(patients[["subject_id", "anchor_age"]], on="subject_id")
    per_adm = stays.groupby("hadm_id")["stay_id"].transform("count")
    hours = (stays["outtime"] - stays["intime"]).dt.total_seconds() / 3600
    cohort = stays[
        (stays["anchor_age"] >= 18)
        & (per_adm == 1)
        & (stays["first_careunit"] == stays["last_careunit"])
        & (hours >= 48)
    ]
    item_var, conv, rng_lo, rng_hi = {}, {}, {}, {}
    for v in NUMERIC_VARIABLES:
        for i in v.chart_itemids:
            item_var[i] = v.name
            conv[i] = (
                "f"
                if i in v.fahrenheit_itemids
                else "lb"
                if i in v.pound_itemids
                else "in"
                if i in v.inch_itemids
                else "pct"
                if v.name == "fio2"
                else ""
            )
            rng_lo[i], rng_hi[i] = v.valid_range
    path = next(root.glob("icu/chartevents.csv*"))  # pandas decompresses .gz itself (one thread)
    ce = pd.read_csv(
        path,
        usecols=["stay_id", "itemid", "charttime", "value", "valuenum"],
        dtype={"stay_id": "int64", "itemid": "int64", "valuenum": "float64"},
    )
    ce = ce[ce["itemid"].isin(list(item_var)) & ce["stay_id"].isin(cohort["stay_id"])]
    ce = ce.merge(cohort[["stay_id", "intime"]], on="stay_id")
    ce["charttime"] = pd.to_datetime(ce["charttime"], format="%Y-%m-%d %H:%M:%S")
    ce["hour"] = (ce["charttime"] - ce["intime"]).dt.total_seconds() // 3600
    ce = ce[(ce["hour"] >= 0) & (ce["hour"] < 48)].copy()
    num = ce["valuenum"].fillna(pd.to_numeric(ce["value"], errors="coerce"))
    c = ce["itemid"].map(conv)
    num = (
        num.where(c != "f", (num - 32) * 5 / 9).where(c != "lb", num * 0.453592).where(c != "in", num * 2.54)
    )
    num = num.where(~((c == "pct") & (num > 1)), num / 100)
    ce["num"] = num
    ce = ce[(num >= ce["itemid"].map(rng_lo)) & (num <= ce["itemid"].map(rng_hi))]
    ce["variable"] = ce["itemid"].map(item_var)
    last = ce.sort_values("charttime").groupby(["stay_id", "hour", "variable"])["num"].last()
    wide = last.unstack("variable")
    return {"stays": len(cohort), "observed": int(wide.notna().sum().sum())}


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would include the parent's at fork).

    VmHWM also counts pages of files the process maps: polars memory-maps the CSV it scans, so this
    includes up to the file's size in page-cache pages, which the kernel can drop at any time."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _AnonPeak(threading.Thread):
    """Samples RssAnon (heap memory, without mapped files) every 10 ms; `.peak_mb` is the largest seen."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb, self.stop = 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.01):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)


def child(impl: str, root: Path) -> None:
    import pandas  # noqa: F401  (imports are not timed)
    import polars  # noqa: F401

    import emerge.data.hourly  # noqa: F401
    import emerge.data.timeseries  # noqa: F401

    sampler = _AnonPeak()
    sampler.start()
    start, cpu = time.perf_counter(), os.times()
    result = (run_ours if impl == "ours" else run_pandas)(root)
    end = os.times()
    result["seconds"] = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    result["cpu_seconds"] = end.user + end.system - cpu.user - cpu.system
    result["peak_rss_mb"] = _peak_rss_mb()
    result["peak_anon_mb"] = sampler.peak_mb
    print("RESULT " + json.dumps(result))


def measure(impl: str, root: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", impl, "--root", str(root)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    print(
        f"  {impl:6s} {root.name}: {result['seconds']:.1f} s wall, {result['cpu_seconds']:.1f} s CPU, "
        f"{result['peak_rss_mb']:,.0f} MB peak RSS, {result['peak_anon_mb']:,.0f} MB peak anon "
        f"(load {os.getloadavg()[0]:.1f})",
        file=sys.stderr,
    )
    return result


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--stays", type=int, default=50_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="ours and pandas alternate this many times; "
        "the table keeps each one's fastest run (the least disturbed on a shared machine)",
    )
    parser.add_argument("--cache", type=Path, default=Path("runs/bench_ingest"))
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    parser.add_argument("--gzip", action="store_true", help="also time both on chartevents.csv.gz")
    parser.add_argument("--child", choices=["ours", "pandas"], default=None)
    parser.add_argument("--root", type=Path, default=None)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.root)
        return
    t = time.perf_counter()
    root = generate(args.cache / f"rows{args.rows}_stays{args.stays}", args.rows, args.stays)
    size_mb = (root / "icu/chartevents.csv").stat().st_size / 1e6
    print(
        f"data: {args.rows:,} chartevents rows ({size_mb:,.0f} MB CSV) for {args.stays:,} stays, "
        f"ready in {time.perf_counter() - t:.0f} s",
        file=sys.stderr,
    )
    roots = [(".csv", root)] + ([(".csv.gz", gzip_copy(root))] if args.gzip else [])
    load_before = _load()
    best: dict[tuple[str, str], dict] = {}
    for _ in range(args.repeat):
        for suffix, r in roots:
            for impl in ("ours", "pandas"):
                result = measure(impl, r)
                if (impl, suffix) not in best or result["seconds"] < best[impl, suffix]["seconds"]:
                    best[impl, suffix] = result
    load_after = _load()
    observed = {(impl, suffix): r["observed"] for (impl, suffix), r in best.items()}
    if len(set(observed.values())) != 1:
        raise SystemExit(f"implementations disagree on the number of observed values: {observed}")
    ours = best["ours", ".csv"]
    lines = [
        f"## Ingest: 48 h hourly table from {args.rows:,} chartevents rows ({size_mb:,.0f} MB), "
        f"{ours['stays']:,} cohort stays of {args.stays:,}",
        "",
        f"Machine: {os.cpu_count()} CPU cores, shared; load average (1 / 5 / 15 min) {load_before} before, "
        f"{load_after} after. Each implementation runs in its own subprocess, alternating, "
        f"{args.repeat}x; the fastest run of each is shown. Both produce {ours['observed']:,} observed "
        f"(stay, hour, numeric variable) values; ours also counts {ours['ignored_itemid_rows']:,} rows of "
        f"other itemids (the build's skip count) in the same pass. "
        f"Command: `python benchmarks/ingest.py --rows {args.rows} --stays {args.stays} "
        f"--repeat {args.repeat}{' --gzip' if args.gzip else ''}`.",
        "",
        "| implementation | input | wall s | CPU s | rows/s | peak RSS (MB) | peak anon RSS (MB) "
        "| est. MIMIC-IV 313M rows |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"ours": "ours (polars, one streaming pass + numpy grid)", "pandas": "pandas read_csv"}
    for suffix, _ in roots:
        for impl in ("ours", "pandas"):
            r = best[impl, suffix]
            rate = args.rows / r["seconds"]
            lines.append(
                f"| {names[impl]} | {suffix} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {rate:,.0f} | "
                f"{r['peak_rss_mb']:,.0f} | {r['peak_anon_mb']:,.0f} | "
                f"{MIMIC_IV_CHARTEVENTS_ROWS / rate / 60:.1f} min |"
            )
    lines.append("")
    for suffix, _ in roots:
        o, p = best["ours", suffix], best["pandas", suffix]
        lines.append(
            f"- {suffix}: ours is **{p['seconds'] / o['seconds']:.1f}x** faster than pandas in wall time "
            f"({p['cpu_seconds'] / o['cpu_seconds']:.1f}x less CPU time), with "
            f"{p['peak_anon_mb'] / o['peak_anon_mb']:.1f}x less peak heap (anon) memory."
        )
    text = "\n".join(lines + [""])
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
