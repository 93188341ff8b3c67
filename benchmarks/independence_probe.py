"""The columns' independence model on the categorical tables: sum or largest surprisal.

A diagnostic for issue #24, with no VAE: each cell's surprisal is ``-log`` of
its level's add-one-smoothed frequency in the training part (AVF's terms), and
a row is ranked by their sum (AVF) or by the largest one (the rarest level the
row holds). Same split and seeds as ``categorical.py``.

Usage::

    python benchmarks/independence_probe.py --jobs 2 --json out.json
    python benchmarks/independence_probe.py --datasets w7a --seeds 0
"""

from __future__ import annotations

import argparse
import time

from _evaluation import add_report_arguments, report, result_row, run_tasks
from categorical import DATA, level_surprisals, load


def evaluate(name: str, seed: int) -> list[dict]:
    """Rank one table's test rows by the sum and by the largest surprisal."""
    start = time.perf_counter()
    X_train, X_test, y = load(name, seed)
    cells = level_surprisals(X_train, X_test)
    seconds = time.perf_counter() - start
    return [
        result_row(name, seed, "independence sum (AVF)", y, cells.sum(axis=1), seconds),
        result_row(name, seed, "independence largest", y, cells.max(axis=1), seconds),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="*", default=None)
    add_report_arguments(parser)
    args = parser.parse_args()
    names = args.datasets or sorted(p.name.split(".")[0] for p in DATA.glob("*.csv.gz"))
    tasks = [(name, seed) for name in names for seed in args.seeds]
    report(run_tasks(evaluate, tasks, args.jobs), names, args)


if __name__ == "__main__":
    main()
