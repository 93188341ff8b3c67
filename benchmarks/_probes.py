"""What the diagnostic probes of issue #24 share: sets, fits, tails, arguments.

``cell_probe.py``, ``ranking_probe.py``, ``rarest_value_probe.py``,
``trim_either_probe.py``, ``conditional_cell_probe.py``,
``mixture_prior_probe.py``, ``linear_probe.py``, ``quantile_probe.py`` and
``subsample_probe.py`` (and ``fit_spread_probe.py``) each
fit the VAE on the ADBench sets or the categorical tables (the split of
``adbench.py`` and ``categorical.py``) and rank the test rows in several ways.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable, Iterable

import numpy as np
from _evaluation import add_report_arguments, report, run_tasks

#: The categorical tables run by default (w7a, whose fits take minutes, apart).
CATEGORICAL_FIVE = ["apascal", "bank", "chess", "covertype", "solarflare"]


def load_set(collection: str, name: str, seed: int) -> tuple:
    """Train rows, test rows and test labels of one set, split as its benchmark does."""
    if collection == "adbench":
        from adbench import load
    else:
        from categorical import load
    return load(name, seed)


def set_names(collection: str, datasets: list[str] | None) -> list[str]:
    """``datasets``, or by default every ADBench set or the five categorical tables."""
    if datasets:
        return list(datasets)
    if collection == "adbench":
        from adbench import DATA

        return sorted(p.stem for p in DATA.glob("*.npz"))
    return CATEGORICAL_FIVE


def add_collection_arguments(parser: argparse.ArgumentParser) -> None:
    """The collection to run (``adbench`` or ``categorical``) and ``--datasets``."""
    parser.add_argument("collection", choices=["adbench", "categorical"])
    parser.add_argument("--datasets", nargs="*", default=None)


def run(
    evaluate: Callable[..., list[dict]],
    description: str | None,
    *,
    options: dict[str, dict] | None = None,
    task_arguments: Callable[[argparse.Namespace], Iterable] = lambda args: (),
) -> None:
    """A probe's command line: ``evaluate`` on every set and seed, then the report.

    Each task calls ``evaluate(collection, name, seed, *task_arguments(args),
    *option_values)``: ``options`` maps each of the probe's own flags to the
    keywords of ``add_argument``, and their values follow in that order.
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_collection_arguments(parser)
    actions = [parser.add_argument(f, **kw) for f, kw in (options or {}).items()]
    add_report_arguments(parser)
    args = parser.parse_args()
    names = set_names(args.collection, args.datasets)
    extra = (*task_arguments(args), *(getattr(args, a.dest) for a in actions))
    tasks = [(args.collection, n, s, *extra) for n in names for s in args.seeds]
    report(run_tasks(evaluate, tasks, args.jobs), names, args)


def fit_timed(detector, X) -> float:
    """Fit ``detector`` on ``X``, warnings silenced; return the seconds it took."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detector.fit(X)
    return time.perf_counter() - start


def tail_surprisal(train: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``-log`` of the share of training rows at least as large, smoothed.

    Past the largest training value it goes on rising linearly, at the rate of
    an exponential tail fitted to the top tenth of the training values.
    """
    ordered = np.sort(train)
    n = len(ordered)
    at_least = n - np.searchsorted(ordered, values, side="left")
    out = -np.log((at_least + 1) / (n + 1))
    return out + np.maximum(values - ordered[-1], 0) / upper_tail_scale(ordered)


def upper_tail_scale(ordered: np.ndarray) -> float:
    """Scale of an exponential tail fitted to the top tenth of sorted values."""
    top = ordered[int(0.9 * len(ordered)) :]
    return max(float(np.mean(top - top[0])), 1e-12)
