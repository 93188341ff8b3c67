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
  the training maximum by an exponential tail: ``_probes.tail_surprisal``),
  and the two are combined by the larger (``min-p``) or the sum (``fisher``).

Usage::

    python benchmarks/ranking_probe.py adbench --jobs 2 --json out.json
    python benchmarks/ranking_probe.py categorical --datasets w7a --seeds 0
"""

from __future__ import annotations

import copy

import numpy as np
from _evaluation import (
    parse_params,
    result_row,
)
from _probes import fit_timed, load_set, run, tail_surprisal

from vaeanomaly import VAEAnomalyDetector


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


def evaluate(collection: str, name: str, seed: int, params: dict) -> list[dict]:
    """Fit once; one result row per statistic or combination."""
    X_train, X_test, y = load_set(collection, name, seed)
    vae = _KeepRanking(random_state=seed, **params)
    seconds = fit_timed(vae, X_train)
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
    run(evaluate, __doc__, task_arguments=lambda args: (parse_params(args.set),))


if __name__ == "__main__":
    main()
