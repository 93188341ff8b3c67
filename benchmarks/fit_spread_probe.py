"""Where a set's spread over seeds comes from: the split, the trimming or the fit.

For each set and split seed, fits the default detector with the model seed
equal to the split seed and with ``--offsets`` added to it, and records each
fit's AUROC and AP and how many training rows ``trim`` left out
(``n_trimmed``): two fits of one split that trim as many rows and score far
apart vary in the final fit, not in the trimming.

Usage::

    python benchmarks/fit_spread_probe.py adbench --datasets 44_Wilt --json out.json
"""

from __future__ import annotations

from _evaluation import result_row
from _probes import fit_timed, load_set, run

from vaeanomaly import VAEAnomalyDetector


def evaluate(collection: str, name: str, seed: int, offsets: list[int]) -> list[dict]:
    """One fit per model seed on the split of ``seed``; one result row each."""
    X_train, X_test, y = load_set(collection, name, seed)
    rows = []
    for offset in [0, *offsets]:
        vae = VAEAnomalyDetector(random_state=seed + offset)
        seconds = fit_timed(vae, X_train)
        label = f"model seed +{offset}"
        row = result_row(name, seed, label, y, -vae.score_samples(X_test), seconds)
        rows.append({**row, "n_trimmed": vae.n_trimmed_, "n_train": len(X_train)})
    return rows


def main() -> None:
    run(
        evaluate,
        __doc__,
        options={"--offsets": {"type": int, "nargs": "+", "default": [100]}},
    )


if __name__ == "__main__":
    main()
