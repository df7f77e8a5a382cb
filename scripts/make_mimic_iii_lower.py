"""Write the lower-case MIMIC-III test fixture tests/fixtures/mimic_iii_lower/.

The fixture holds the made-up rows of `tests.helpers.mimic.iii_tables` (two patients, two ICU stays,
chartevents, labevents and noteevents whose expected values the tests work out) in the format of the
public MIMIC-III Clinical Database Demo 1.4: upper-case file names (`ADMISSIONS.csv`), lower-case
headers (`row_id,subject_id,...`), every column of MIMIC-III 1.4 in its order, uncompressed. No row
comes from MIMIC: the fixture is ours and carries no data use restriction.

    python -m scripts.make_mimic_iii_lower --dst tests/fixtures/mimic_iii_lower   # from the repository root

Reruns give identical bytes; tests/emerge/data/test_mimic_case.py checks that the committed fixture
is what this script writes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tests.helpers.mimic import iii_demo_root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dst", type=Path, default=Path("tests/fixtures/mimic_iii_lower"))
    args = parser.parse_args(argv)
    iii_demo_root(args.dst)
    print(f"wrote {', '.join(sorted(p.name for p in args.dst.glob('*.csv')))} to {args.dst}")


if __name__ == "__main__":
    main()
