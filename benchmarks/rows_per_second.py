"""Rows trained per second of a default fit, one thread (10,000 x 20 rows unless told).

Epochs x rows per epoch / training time, over both fits (the ranking fit of
``trim`` and the final one), read from the records that ``fit``'s public
``callback`` receives after each epoch (``rows``, ``dur``, ``fit_pass``)::

    python benchmarks/rows_per_second.py --json benchmarks/results/rows_per_second.json
    python benchmarks/rows_per_second.py --rows 4000 --columns 512   # a wide table

An earlier release on ``PYTHONPATH`` is timed the same way when its records
carry ``rows`` (0.5 and later).

Prints one JSON line; ``--json`` also writes it with its provenance.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import torch
from _provenance import write_result  # benchmarks/ is on sys.path
from speed import make_data

import vaeanomaly
from vaeanomaly import VAEAnomalyDetector


def _where(path: str) -> str:
    """The package's file, relative to the working folder when it lies below it.

    A result file should not hold this machine's absolute paths; a checkout
    elsewhere (another commit on ``PYTHONPATH``) is named by its folder only.
    """
    location = Path(path).resolve()
    try:
        return str(location.relative_to(Path.cwd().resolve()))
    except ValueError:
        return f"<{location.parents[1].name}>/{location.parent.name}/{location.name}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", default=None)
    parser.add_argument("--rows", type=int, default=10_000, help="training rows")
    parser.add_argument("--columns", type=int, default=20, help="columns")
    args = parser.parse_args()
    torch.set_num_threads(1)
    epochs: list[dict] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        VAEAnomalyDetector(max_epochs=1, random_state=0).fit(make_data(500, 5))
        # the warm-up fit (first kernels, imports) is not timed
        start = time.perf_counter()
        VAEAnomalyDetector(random_state=0).fit(
            make_data(args.rows, args.columns), callback=epochs.append
        )
        fit_s = time.perf_counter() - start
    passes = []
    for fit_pass in sorted({record["fit_pass"] for record in epochs}):
        records = [r for r in epochs if r["fit_pass"] == fit_pass]
        passes.append(
            (len(records), records[0]["rows"], sum(r["dur"] for r in records))
        )
    trained = sum(n * rows for n, rows, _ in passes)
    seconds = sum(s for *_, s in passes)
    result = {
        "code": _where(vaeanomaly.__file__),
        "shape": [args.rows, args.columns],
        "fit_s": fit_s,
        "passes": passes,
        "rows_trained": trained,
        "training_s": seconds,
        "rows_per_s": trained / seconds,
    }
    print(json.dumps(result))
    if args.json:
        write_result(args.json, result)


if __name__ == "__main__":
    main()
