"""Print a quality report from result files, without fitting anything.

The same tables, ranks, sets won and lost, seed spread and fit times that
``adbench.py`` and ``categorical.py`` print after a run, for rows already in
``benchmarks/results/`` (for instance to compare two stored runs).

Several files are joined (for instance the five categorical tables and w7a,
run apart because w7a's fits take minutes).

Usage::

    python benchmarks/compare.py benchmarks/results/categorical_defaults.json \\
        --reference benchmarks/results/categorical_v0.4_rerun.json \\
        --baselines benchmarks/results/categorical_baselines.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _evaluation import report  # benchmarks/ is on sys.path as the script folder
from _provenance import read_rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "rows", type=Path, nargs="+", help="result files of the VAE (rows joined)"
    )
    parser.add_argument(
        "--reference", type=Path, nargs="+", default=None, help="joined likewise"
    )
    parser.add_argument("--baselines", type=Path, default=None)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    rows = [r for f in args.rows for r in read_rows(f) if r["seed"] in args.seeds]
    names = sorted({r["dataset"] for r in rows})
    report(rows, names, argparse.Namespace(json=None, set=[], jobs=None, **vars(args)))


if __name__ == "__main__":
    main()
