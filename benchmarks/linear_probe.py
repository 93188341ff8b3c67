"""A linear VAE beside the default, alone and as a product of experts (issue #24).

Fits the default detector and one with ``hidden_dims=()`` (no hidden layer:
a linear encoder and decoder, a probabilistic PCA with the package's
likelihood heads) per set and seed, and ranks the test rows by

- ``elbo``: the default;
- ``linear``: the linear VAE's ELBO;
- ``product``: the sum of the two ELBOs, the log of a product of the two
  models' densities (up to a constant): a row is normal only if both find it
  likely, so a group that only the flexible model can learn is still charged
  by the linear one;
- ``fisher``: the two ELBOs' tail surprisals among the training rows
  (``_probes.tail_surprisal``), added.

Usage::

    python benchmarks/linear_probe.py adbench --jobs 2 --json out.json
"""

from __future__ import annotations

from _evaluation import result_row
from _probes import fit_timed, load_set, run, tail_surprisal

from vaeanomaly import VAEAnomalyDetector


def evaluate(collection: str, name: str, seed: int) -> list[dict]:
    """Fit both models once; one result row per score."""
    X_train, X_test, y = load_set(collection, name, seed)
    flexible = VAEAnomalyDetector(random_state=seed)
    seconds = fit_timed(flexible, X_train)
    linear = VAEAnomalyDetector(hidden_dims=(), random_state=seed)
    linear_seconds = fit_timed(linear, X_train)
    a, b = -flexible.score_samples(X_test), -linear.score_samples(X_test)
    fisher = tail_surprisal(-flexible.score_samples(X_train), a) + tail_surprisal(
        -linear.score_samples(X_train), b
    )
    both = seconds + linear_seconds
    return [
        result_row(name, seed, "elbo", y, a, seconds),
        result_row(name, seed, "linear", y, b, linear_seconds),
        result_row(name, seed, "product", y, a + b, both),
        result_row(name, seed, "fisher", y, fisher, both),
    ]


def main() -> None:
    run(evaluate, __doc__)


if __name__ == "__main__":
    main()
