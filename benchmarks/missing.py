"""How much detection quality gaps cost: masked likelihood vs mean imputation.

Protocol: the ADBench split of ``benchmarks/adbench.py`` (at most 10,000 rows,
stratified 70/30, MinMax scaling fitted on the train part, seeds 0-2). Then a
share of the cells (default 20%) of both parts is hidden at random, the same
cells for every detector, and AUROC and average precision are measured on the
test part for:

- ``complete``: ``VAEAnomalyDetector()`` on the data without gaps (reference);
- ``mask``: ``VAEAnomalyDetector()`` on the data with gaps (``missing="mask"``,
  the default: the encoder sees zeros plus missing indicators, the likelihood
  terms of the gaps are left out of training and scores);
- ``mean impute``: ``SimpleImputer(strategy="mean")`` then
  ``VAEAnomalyDetector()``, the usual way to make a detector take gaps;
- ``IsolationForest (impute)``: the same imputer then an Isolation Forest.

Usage::

    python benchmarks/missing.py
    python benchmarks/missing.py --datasets 6_cardio --seeds 0 --share 0.4
    python benchmarks/missing.py --json benchmarks/results/missing_defaults.json
    python benchmarks/missing.py --detectors mask --jobs 2
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from _evaluation import run_tasks
from _provenance import write_result
from adbench import (  # benchmarks/ is on sys.path as the script folder
    DATA,
    add_set_argument,
    load,
    parse_params,
    print_mean_tables,
    result_row,
)
from sklearn.ensemble import IsolationForest
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline

from vaeanomaly import VAEAnomalyDetector

DETECTORS = ("complete", "mask", "mean impute", "IsolationForest (impute)")


def hide_cells(X: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Return a copy of ``X`` with ``share`` of its cells set to NaN, at random.

    A row never loses every cell: one hidden cell of an emptied row is shown
    again, so every row can still be scored.
    """
    hidden = rng.random(X.shape) < share
    empty = np.flatnonzero(hidden.all(axis=1))
    hidden[empty, rng.integers(0, X.shape[1], size=len(empty))] = False
    out = X.copy()
    out[hidden] = np.nan
    return out


def run(
    name: str, seed: int, share: float, params: dict, detectors: tuple[str, ...]
) -> list[dict]:
    """Fit ``detectors`` on one dataset and seed; return one row per detector."""
    X_train, X_test, y_test = load(name, seed)
    rng = np.random.default_rng(seed)
    gappy_train, gappy_test = (
        hide_cells(X_train, share, rng),
        hide_cells(X_test, share, rng),
    )
    models = {
        "complete": (VAEAnomalyDetector(random_state=seed, **params), False),
        "mask": (VAEAnomalyDetector(random_state=seed, **params), True),
        "mean impute": (
            make_pipeline(
                SimpleImputer(strategy="mean"),
                VAEAnomalyDetector(random_state=seed, **params),
            ),
            True,
        ),
        "IsolationForest (impute)": (
            make_pipeline(
                SimpleImputer(strategy="mean"), IsolationForest(random_state=seed)
            ),
            True,
        ),
    }
    rows = []
    for detector, (model, gaps) in models.items():
        if detector not in detectors:
            continue
        train, test = (gappy_train, gappy_test) if gaps else (X_train, X_test)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(train)
        seconds = time.perf_counter() - start
        scores = -model.score_samples(test)
        rows.append(result_row(name, seed, detector, y_test, scores, seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--share", type=float, default=0.2, help="share of cells hidden"
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the result rows here"
    )
    parser.add_argument(
        "--detectors", nargs="*", default=list(DETECTORS), choices=DETECTORS
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="tasks run side by side, one thread each"
    )
    add_set_argument(parser)
    args = parser.parse_args()
    params = parse_params(args.set)
    names = args.datasets or sorted(p.stem for p in DATA.glob("*.npz"))
    detectors = tuple(args.detectors)
    tasks = [
        (name, seed, args.share, params, detectors)
        for name in names
        for seed in args.seeds
    ]
    rows = run_tasks(run, tasks, args.jobs)
    if args.json:
        write_result(
            args.json,
            rows,
            parameters=params,
            seeds=args.seeds,
            share=args.share,
            datasets=names,
        )
    print(f"\n{args.share:.0%} of cells hidden; seeds {args.seeds}\n")
    print_mean_tables(rows, names, list(detectors))


if __name__ == "__main__":
    main()
