"""What the ranking fit of ``trim`` sees, beside the final model (issue #24).

A diagnostic. ``trim``'s first fit weighs the KL term four times and its
posterior collapses: it scores rows as the columns' independence model would,
with the package's own likelihood heads. This script keeps that model (the
default fit throws it away) and ranks the test rows by

- ``elbo``: the default score, the final model's ELBO;
- ``ranking elbo``: the ranking fit's ELBO (sum of the cells' marginal
  surprisals, roughly);
- ``ranking largest cell``: the ranking fit's largest cell surprisal, the
  rarest value a row holds;
- ``final largest cell``: the final model's largest cell surprisal;
- combinations on a common scale: each statistic is turned into its tail
  surprisal among the training rows, ``-log P_train(S >= s)`` (continued past
  the training maximum by an exponential tail), and the two are combined by
  the larger (``min-p``) or the sum (``fisher``).

Usage::

    python benchmarks/ranking_probe.py adbench --jobs 2 --json out.json
    python benchmarks/ranking_probe.py categorical --datasets w7a --seeds 0
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings

import numpy as np
from _evaluation import (
    add_report_arguments,
    parse_params,
    report,
    result_row,
    run_tasks,
)

from vaeanomaly import VAEAnomalyDetector


def _load(collection: str, name: str, seed: int) -> tuple:
    if collection == "adbench":
        from adbench import load

        return load(name, seed)
    from categorical import load

    return load(name, seed)


class _KeepRanking(VAEAnomalyDetector):
    """The default detector, keeping a copy of the ranking fit's network."""

    def _untrimmed(self, scores):
        self.ranking_module_ = copy.deepcopy(self.module_)
        return super()._untrimmed(scores)


def _scores(vae: VAEAnomalyDetector, module, X) -> tuple[np.ndarray, np.ndarray]:
    """Anomaly score (minus the ELBO) and largest cell surprisal under ``module``."""
    final = vae.module_
    vae.module_ = module
    vae.__dict__.pop("_scoring_module", None)
    try:
        elbo = -vae.score_samples(X)
        largest = np.nanmax(np.asarray(vae.score_features(X), dtype=float), axis=1)
    finally:
        vae.module_ = final
        vae.__dict__.pop("_scoring_module", None)
    return elbo, largest


def tail_surprisal(train: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``-log`` of the share of training rows at least as large, smoothed.

    Past the largest training value it goes on rising linearly, at the rate of
    an exponential tail fitted to the top tenth of the training values.
    """
    ordered = np.sort(train)
    n = len(ordered)
    at_least = n - np.searchsorted(ordered, values, side="left")
    out = -np.log((at_least + 1) / (n + 1))
    top = ordered[int(0.9 * n) :]
    scale = max(float(np.mean(top - top[0])), 1e-12)
    return out + np.maximum(values - ordered[-1], 0) / scale


def evaluate(collection: str, name: str, seed: int, params: dict) -> list[dict]:
    """Fit once; one result row per statistic or combination."""
    X_train, X_test, y = _load(collection, name, seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = _KeepRanking(random_state=seed, **params).fit(X_train)
    seconds = time.perf_counter() - start
    stats = {}
    for label, module in (("", vae.module_), ("ranking ", vae.ranking_module_)):
        train = _scores(vae, module, X_train)
        test = _scores(vae, module, X_test)
        for kind, tr, te in zip(("elbo", "largest cell"), train, test, strict=True):
            stats[f"{label or 'final '}{kind}"] = (tr, te)
    tails = {k: tail_surprisal(tr, te) for k, (tr, te) in stats.items()}
    scores = {
        "elbo": stats["final elbo"][1],
        "ranking elbo": stats["ranking elbo"][1],
        "ranking largest cell": stats["ranking largest cell"][1],
        "final largest cell": stats["final largest cell"][1],
    }
    for a, b, short in (
        ("final elbo", "ranking largest cell", "elbo & ranking largest"),
        ("final elbo", "ranking elbo", "elbo & ranking elbo"),
        ("final elbo", "final largest cell", "elbo & final largest"),
    ):
        scores[f"{short} min-p"] = np.maximum(tails[a], tails[b])
        scores[f"{short} fisher"] = tails[a] + tails[b]
    return [result_row(name, seed, k, y, v, seconds) for k, v in scores.items()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("collection", choices=["adbench", "categorical"])
    parser.add_argument("--datasets", nargs="*", default=None)
    add_report_arguments(parser)
    args = parser.parse_args()
    params = parse_params(args.set)
    if args.datasets:
        names = args.datasets
    elif args.collection == "adbench":
        from adbench import DATA

        names = sorted(p.stem for p in DATA.glob("*.npz"))
    else:
        names = ["apascal", "bank", "chess", "covertype", "solarflare"]
    tasks = [(args.collection, n, s, params) for n in names for s in args.seeds]
    report(run_tasks(evaluate, tasks, args.jobs), names, args)


if __name__ == "__main__":
    main()
