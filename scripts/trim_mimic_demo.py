"""Trim the MIMIC-IV Clinical Database Demo 2.2 into the small test fixture tests/fixtures/mimic_iv_demo/.

Keeps all 100 patients' hosp/patients, hosp/admissions, hosp/transfers, hosp/diagnoses_icd and
icu/icustays unchanged, the dictionaries hosp/d_labitems and icu/d_items, and only the rows of
hosp/labevents whose itemid is one of the 17 benchmark variables' lab itemids (the rows our reader
uses). The demo is ODbL-licensed; its LICENSE.txt is copied and the derived files stay under ODbL.

    python scripts/trim_mimic_demo.py --src /path/to/mimic-iv-clinical-database-demo-2.2 \
        --dst tests/fixtures/mimic_iv_demo

Output files are gzipped with a zero timestamp so that reruns give identical bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import shutil
from pathlib import Path

from emerge.data.variables import VARIABLES

COPY = [
    "hosp/patients",
    "hosp/admissions",
    "hosp/transfers",
    "hosp/diagnoses_icd",
    "icu/icustays",
    "hosp/d_labitems",
    "icu/d_items",
]


def _write_gz(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(text.encode("utf-8"))


def trim(src: Path, dst: Path) -> None:
    """Write the trimmed copy of `src` into `dst` (see module docs)."""
    for rel in COPY:
        with gzip.open(src / f"{rel}.csv.gz", "rt", encoding="utf-8", newline="") as fh:
            _write_gz(dst / f"{rel}.csv.gz", fh.read())
    lab_ids = {str(i) for v in VARIABLES for i in v.lab_itemids}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    kept = 0
    with gzip.open(src / "hosp/labevents.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        writer.writerow(header)
        col = header.index("itemid")
        for row in reader:
            if row[col] in lab_ids:
                writer.writerow(row)
                kept += 1
    _write_gz(dst / "hosp/labevents.csv.gz", out.getvalue())
    shutil.copyfile(src / "LICENSE.txt", dst / "LICENSE.txt")
    total = sum(p.stat().st_size for p in dst.rglob("*") if p.is_file())
    print(f"kept {kept} labevents rows; fixture is {total / 1e6:.2f} MB in {dst}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--src", type=Path, default=Path("/work/shared/data/mimic-iv-clinical-database-demo-2.2")
    )
    parser.add_argument("--dst", type=Path, default=Path("tests/fixtures/mimic_iv_demo"))
    args = parser.parse_args()
    trim(args.src, args.dst)


if __name__ == "__main__":
    main()
