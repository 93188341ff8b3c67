"""Rank-Gaussian inputs for measured columns, beside the default (issue #24).

Fits the default detector twice per set and seed: on the columns as the
benchmark gives them, and with every column that has at least
``--min-distinct`` distinct training values replaced by its normal score
``Phi^-1(F(x))``, where ``F`` is the column's empirical distribution among the
training rows (mid-ranks) with exponential tails past the training range
(``_probes.upper_tail_scale``, as ``tail_surprisal`` has), so that a test
value beyond every training value keeps rising. The VAE then models the
rows' ranks: each column's marginal is standard normal and the model learns
how the columns move together, as a copula does; a value far in a skewed
tail is as far as its rank says, not as its distance says.

Usage::

    python benchmarks/quantile_probe.py adbench --jobs 2 --json out.json
"""

from __future__ import annotations

import numpy as np
from _evaluation import result_row
from _probes import fit_timed, load_set, run, upper_tail_scale
from scipy.stats import norm

from vaeanomaly import VAEAnomalyDetector


class RankGaussian:
    """Normal scores of the columns with at least ``min_distinct`` values."""

    def __init__(self, min_distinct: int) -> None:
        self.min_distinct = min_distinct

    def fit(self, X: np.ndarray) -> RankGaussian:
        self.columns_ = [
            j for j in range(X.shape[1]) if len(np.unique(X[:, j])) >= self.min_distinct
        ]
        self.sorted_ = {j: np.sort(X[:, j]) for j in self.columns_}
        return self

    def _normal_score(self, ordered: np.ndarray, x: np.ndarray) -> np.ndarray:
        n = len(ordered)
        below = np.searchsorted(ordered, x, side="left")
        at_most = np.searchsorted(ordered, x, side="right")
        cdf = (below + at_most + 1) / (2 * (n + 1))
        # Past the training range the tail probability decays exponentially.
        upper = np.where(
            x > ordered[-1],
            np.exp(-(x - ordered[-1]) / upper_tail_scale(ordered)) / (n + 1),
            1 - cdf,
        )
        lower = np.where(
            x < ordered[0],
            np.exp(-(ordered[0] - x) / upper_tail_scale(-ordered[::-1])) / (n + 1),
            cdf,
        )
        upper, lower = np.maximum(upper, 1e-300), np.maximum(lower, 1e-300)
        return np.where(x >= np.median(ordered), norm.isf(upper), norm.ppf(lower))

    def transform(self, X: np.ndarray) -> np.ndarray:
        out = np.array(X, dtype=np.float64, copy=True)
        for j in self.columns_:
            out[:, j] = self._normal_score(self.sorted_[j], X[:, j])
        return out


def evaluate(collection: str, name: str, seed: int, min_distinct: int) -> list[dict]:
    """Fit on the columns as given and on their normal scores; one row each."""
    X_train, X_test, y = load_set(collection, name, seed)
    rows = []
    vae = VAEAnomalyDetector(random_state=seed)
    seconds = fit_timed(vae, X_train)
    rows.append(result_row(name, seed, "elbo", y, -vae.score_samples(X_test), seconds))
    ranks = RankGaussian(min_distinct).fit(X_train)
    vae = VAEAnomalyDetector(random_state=seed)
    seconds = fit_timed(vae, ranks.transform(X_train))
    scores = -vae.score_samples(ranks.transform(X_test))
    rows.append(result_row(name, seed, "rank-gaussian", y, scores, seconds))
    return rows


def main() -> None:
    run(evaluate, __doc__, options={"--min-distinct": {"type": int, "default": 20}})


if __name__ == "__main__":
    main()
