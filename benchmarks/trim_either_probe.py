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

import numpy as np
from _evaluation import (
    parse_params,
    result_row,
)
from _probes import fit_timed, load_set, run

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.scoring import feature_contributions
from vaeanomaly.thresholds import RobustZScoreThreshold, fit_offset


class TrimEither(VAEAnomalyDetector):
    """``trim`` that also leaves out rows whose largest cell is past the cut."""

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


def evaluate(
    collection: str, name: str, seed: int, params: dict, variants: list[str]
) -> list[dict]:
    """One fit per variant; prints how many rows each rule keeps."""
    X_train, X_test, y = load_set(collection, name, seed)
    rows = []
    for label in variants:
        cls = VAEAnomalyDetector if label == "elbo" else TrimEither
        vae = cls(random_state=seed, **params)
        seconds = fit_timed(vae, X_train)
        if label != "elbo":
            print(
                f"{name} {seed} {len(X_train)} kept by elbo {vae.kept_elbo_} "
                f"by cell {vae.kept_cell_} trimmed {vae.n_trimmed_}",
                flush=True,
            )
        scores = -vae.score_samples(X_test)
        rows.append(result_row(name, seed, label, y, scores, seconds))
    return rows


def main() -> None:
    run(
        evaluate,
        __doc__,
        options={"--variants": {"nargs": "*", "default": ["elbo", "trim either"]}},
        task_arguments=lambda args: (parse_params(args.set),),
    )


if __name__ == "__main__":
    main()
