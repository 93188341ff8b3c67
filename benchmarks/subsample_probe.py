"""Models of small random subsamples, averaged, beside the default (issue #24).

An Isolation Forest grows each tree on 256 rows: a group of similar anomalies
that a model of all the rows learns as one more mode is a handful of rows in
a small subsample, too few to learn, while the bulk of the normal rows is
not. This probe fits ``--members`` default detectors, each on its own random
``--rows`` training rows (all of them when there are fewer; seeds differ),
and ranks the test rows by the mean of their ELBOs, the log of the geometric
mean of the members' densities. ``elbo`` is the default fitted on every row.

Usage::

    python benchmarks/subsample_probe.py adbench --jobs 2 --json out.json
    python benchmarks/subsample_probe.py categorical --datasets w7a --seeds 0
"""

from __future__ import annotations

import numpy as np
from _evaluation import result_row
from _probes import fit_timed, load_set, run

from vaeanomaly import VAEAnomalyDetector


def _rows(X, index: np.ndarray):
    return X.iloc[index] if hasattr(X, "iloc") else X[index]


def evaluate(
    collection: str, name: str, seed: int, members: int, sizes: list[int]
) -> list[dict]:
    """Fit the default and each subsample ensemble; one result row each."""
    X_train, X_test, y = load_set(collection, name, seed)
    vae = VAEAnomalyDetector(random_state=seed)
    seconds = fit_timed(vae, X_train)
    rows = [result_row(name, seed, "elbo", y, -vae.score_samples(X_test), seconds)]
    rng = np.random.default_rng(seed)
    n = len(X_train)
    for size in sizes:
        total, seconds = np.zeros(len(X_test)), 0.0
        for member in range(members):
            index = np.sort(rng.choice(n, min(size, n), replace=False))
            vae = VAEAnomalyDetector(random_state=1000 * seed + member)
            seconds += fit_timed(vae, _rows(X_train, index))
            total += vae.score_samples(X_test)
        label = f"{members} x {size} rows"
        rows.append(result_row(name, seed, label, y, -total / members, seconds))
    return rows


def main() -> None:
    run(
        evaluate,
        __doc__,
        options={
            "--members": {"type": int, "default": 5},
            "--rows": {"type": int, "nargs": "+", "default": [512]},
        },
    )


if __name__ == "__main__":
    main()
