"""Where a set's spread over seeds comes from: the split, the trimming or the fit.

For each set and split seed, fits the detector (the defaults, or ``--set``)
with the model seed equal to the split seed and with ``--offsets`` added to
it, and records each fit's AUROC and AP, how many training rows ``trim`` left
out (``n_trimmed``), and the final fit's best validation loss and its epoch
(``best_valid_loss``, ``best_epoch``, ``epochs``): two fits of one split that
trim as many rows and score far apart vary in the final fit, not in the
trimming.

Usage::

    python benchmarks/fit_spread_probe.py adbench --datasets 44_Wilt --json out.json
    python benchmarks/fit_spread_probe.py adbench --datasets 44_Wilt --seeds 0 \
        --offsets 1 2 3 4 5 6 7
"""

from __future__ import annotations

from _evaluation import parse_params, result_row
from _probes import fit_timed, load_set, run

from vaeanomaly import VAEAnomalyDetector


def evaluate(
    collection: str, name: str, seed: int, params: dict, offsets: list[int]
) -> list[dict]:
    """One fit per model seed on the split of ``seed``; one result row each."""
    X_train, X_test, y = load_set(collection, name, seed)
    rows = []
    for offset in [0, *offsets]:
        vae = VAEAnomalyDetector(random_state=seed + offset, **params)
        seconds = fit_timed(vae, X_train)
        label = f"model seed +{offset}"
        row = result_row(name, seed, label, y, -vae.score_samples(X_test), seconds)
        fit = {
            "n_trimmed": vae.n_trimmed_,
            "n_train": len(X_train),
            "best_valid_loss": min(h["valid_loss"] for h in vae.history_),
            "best_epoch": vae.best_epoch_,
            "epochs": vae.n_iter_,
        }
        rows.append({**row, **fit})
    return rows


def main() -> None:
    run(
        evaluate,
        __doc__,
        options={"--offsets": {"type": int, "nargs": "+", "default": [100]}},
        task_arguments=lambda args: (parse_params(args.set),),
    )


if __name__ == "__main__":
    main()
