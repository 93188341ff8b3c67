"""``score_method="rarest_value"`` beside the ELBO, and two combinations (issue #24).

Fits the default detector once per set and seed and ranks the test rows by

- ``elbo``: the default score;
- ``rarest_value L=16/64/256``: the rarest value of the row under the model's
  marginal of each column, estimated from L draws of the prior (the package
  takes at least 256: ``vaeanomaly.estimator._PRIOR_DRAWS``);
- ``elbo & rarest fisher`` / ``min-p``: both statistics turned into tail
  surprisals among the training rows (``_probes.tail_surprisal``) and
  added up, or the larger taken: a combined score, for the record.

Usage::

    python benchmarks/rarest_value_probe.py adbench --jobs 2 --json out.json
    python benchmarks/rarest_value_probe.py categorical --datasets w7a --seeds 0
"""

from __future__ import annotations

import numpy as np
from _evaluation import result_row
from _probes import fit_timed, load_set, run, tail_surprisal

from vaeanomaly import VAEAnomalyDetector

DRAWS = (16, 64, 256)


def _prior_draws(vae: VAEAnomalyDetector, n: int, X) -> np.ndarray:
    """Minus ``rarest_value`` with exactly ``n`` prior draws (anomaly score)."""
    from vaeanomaly.scoring import rarest_value

    return -vae._batched(rarest_value, vae._validate(X, reset=False), n)


def evaluate(collection: str, name: str, seed: int) -> list[dict]:
    """Fit once; one result row per score."""
    X_train, X_test, y = load_set(collection, name, seed)
    vae = VAEAnomalyDetector(random_state=seed)
    seconds = fit_timed(vae, X_train)
    scores = {"elbo": -vae.score_samples(X_test)}
    for n in DRAWS:
        scores[f"rarest_value L={n}"] = _prior_draws(vae, n, X_test)
    elbo = tail_surprisal(-vae.score_samples(X_train), scores["elbo"])
    vae.set_params(score_method="rarest_value")
    rarest = tail_surprisal(-vae.score_samples(X_train), -vae.score_samples(X_test))
    scores["elbo & rarest fisher"] = elbo + rarest
    scores["elbo & rarest min-p"] = np.maximum(elbo, rarest)
    return [result_row(name, seed, k, y, v, seconds) for k, v in scores.items()]


def main() -> None:
    run(evaluate, __doc__)


if __name__ == "__main__":
    main()
