"""Trimming by the ranking fit's largest cell as well as its ELBO (issue #24).

``trim`` leaves out the training rows whose ranking-fit ELBO falls below the
robust z cut. The variant here also leaves out the rows whose largest cell
surprisal under the ranking fit (collapsed, so about the column's marginal)
is beyond the same cut on that statistic: rows that hold a rare value. Each
variant is one fit; ``elbo`` is the default.

Usage (from the project root)::

    python benchmarks/trim_either_probe.py adbench --jobs 2 --variants "trim either"
    python benchmarks/trim_either_probe.py categorical --datasets w7a --seeds 0
"""

from __future__ import annotations

import argparse
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
from ranking_probe import _load

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.scoring import feature_contributions
from vaeanomaly.thresholds import RobustZScoreThreshold, fit_offset


class TrimEither(VAEAnomalyDetector):
    def _validate(self, X, *, reset):
        values = super()._validate(X, reset=reset)
        if reset:
            self._train_values = values
        return values

    def _untrimmed(self, scores):
        keep = super()._untrimmed(scores)
        self.__dict__.pop("_scoring_module", None)
        cells = self._batched(feature_contributions, self._train_values, self.n_draws)
        largest = -np.nanmax(cells, axis=1)
        cut = fit_offset(RobustZScoreThreshold(), largest)
        self.kept_elbo_, self.kept_cell_ = int(keep.sum()), int((largest >= cut).sum())
        keep = keep & (largest >= cut)
        self.__dict__.pop("_scoring_module", None)
        return keep


def evaluate(collection, name, seed, params, variants):
    X_train, X_test, y = _load(collection, name, seed)
    rows = []
    for label in variants:
        cls = VAEAnomalyDetector if label == "elbo" else TrimEither
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vae = cls(random_state=seed, **params).fit(X_train)
        seconds = time.perf_counter() - start
        if label != "elbo":
            print(
                name,
                seed,
                len(X_train),
                "kept by elbo",
                vae.kept_elbo_,
                "by cell",
                vae.kept_cell_,
                "trimmed",
                vae.n_trimmed_,
                flush=True,
            )
        rows.append(
            result_row(name, seed, label, y, -vae.score_samples(X_test), seconds)
        )
    return rows


p = argparse.ArgumentParser()
p.add_argument("collection")
p.add_argument("--datasets", nargs="*")
p.add_argument("--variants", nargs="*", default=["elbo", "trim either"])
add_report_arguments(p)
a = p.parse_args()
if a.datasets:
    names = a.datasets
elif a.collection == "adbench":
    from adbench import DATA

    names = sorted(x.stem for x in DATA.glob("*.npz"))
else:
    names = ["apascal", "bank", "chess", "covertype", "solarflare"]
report(
    run_tasks(
        evaluate,
        [
            (a.collection, n, s, parse_params(a.set), a.variants)
            for n in names
            for s in a.seeds
        ],
        a.jobs,
    ),
    names,
    a,
)
