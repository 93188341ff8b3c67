"""How a row's cell surprisals are added up (issue #24): a diagnostic.

The ELBO adds up the cells' log-likelihoods, so a row with one very
improbable cell among many ordinary ones can score as more normal than a row
with many mildly unusual cells. This script fits the default VAE once per set
and seed, takes each test cell's surprisal ``s_j = -E_q[log p(x_j | z)]``
(``score_features``) and ranks the rows by

- ``elbo``: the default score (sum of the surprisals plus the KL term);
- ``cells sum``: the sum of the surprisals;
- ``cells max``: the largest surprisal of the row;
- ``cells lse T``: ``T * log sum_j exp(s_j / T)``, between the two
  (T = 1 adds up the reciprocal probabilities ``1 / p(x_j | z)``).

Usage::

    python benchmarks/cell_probe.py categorical --jobs 2 --json out.json
    python benchmarks/cell_probe.py adbench --datasets 8_celeba --seeds 0
"""

from __future__ import annotations

import numpy as np
from _evaluation import (
    parse_params,
    result_row,
)
from _probes import fit_timed, load_set, run
from scipy.special import logsumexp

from vaeanomaly import VAEAnomalyDetector

TEMPERATURES = (0.5, 1.0, 2.0, 4.0)


def evaluate(collection: str, name: str, seed: int, params: dict) -> list[dict]:
    """Fit once; one result row per way of adding up the cells."""
    X_train, X_test, y = load_set(collection, name, seed)
    vae = VAEAnomalyDetector(random_state=seed, **params)
    seconds = fit_timed(vae, X_train)
    cells = np.asarray(vae.score_features(X_test), dtype=np.float64)
    scores = {
        "elbo": -vae.score_samples(X_test),
        "cells sum": cells.sum(axis=1),
        "cells max": cells.max(axis=1),
    }
    for t in TEMPERATURES:
        scores[f"cells lse T={t:g}"] = t * logsumexp(cells / t, axis=1)
    return [result_row(name, seed, k, y, v, seconds) for k, v in scores.items()]


def main() -> None:
    run(evaluate, __doc__, task_arguments=lambda args: (parse_params(args.set),))


if __name__ == "__main__":
    main()
