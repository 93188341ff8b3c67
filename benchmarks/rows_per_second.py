"""Rows trained per second of a default fit on 10,000 x 20 rows, one thread.

Epochs x rows per epoch / training time, over both fits (the ranking fit of
``trim`` and the final one). It also runs on 0.4.0's code, whose history
records carry no row count (an epoch there is the pass's training rows, at
most 1000 batches), so old and new can be timed one after the other::

    PYTHONPATH=<checkout of 0.4.0> python benchmarks/rows_per_second.py
    python benchmarks/rows_per_second.py --json benchmarks/results/rows_per_second.json

Prints one JSON line; ``--json`` also writes it with its provenance.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import torch
from _provenance import write_result  # benchmarks/ is on sys.path
from speed import make_data

import vaeanomaly
import vaeanomaly._training as training
from vaeanomaly import VAEAnomalyDetector


def epoch_rows(trainer, n_rows: int) -> int:
    """Rows of one epoch, under this code's rule or 0.4.0's (1000 batches)."""
    batch = trainer.config.batch_size
    if hasattr(training, "MAX_EPOCH_ROWS"):
        return min(n_rows, max(training.MAX_EPOCH_ROWS, batch))
    return min(n_rows, 1000 * batch)


def _where(path: str) -> str:
    """The package's file, relative to the working folder when it lies below it.

    A result file should not hold this machine's absolute paths; a checkout
    elsewhere (another commit on ``PYTHONPATH``) is named by its folder only.
    """
    location = Path(path).resolve()
    try:
        return str(location.relative_to(Path.cwd().resolve()))
    except ValueError:
        return f"<{location.parents[1].name}>/{location.parent.name}/{location.name}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    passes = []
    fit = training.Trainer.fit

    def recording_fit(self, x_train, *rest, **options):
        fit(self, x_train, *rest, **options)
        seconds = sum(record["dur"] for record in self.history)
        passes.append((len(self.history), epoch_rows(self, x_train.n_rows), seconds))

    training.Trainer.fit = recording_fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        VAEAnomalyDetector(max_epochs=1, random_state=0).fit(make_data(500, 5))
        passes.clear()  # the warm-up fit (first kernels, imports) is not timed
        start = time.perf_counter()
        VAEAnomalyDetector(random_state=0).fit(make_data(10_000, 20))
        fit_s = time.perf_counter() - start
    trained = sum(epochs * rows for epochs, rows, _ in passes)
    seconds = sum(s for *_, s in passes)
    result = {
        "code": _where(vaeanomaly.__file__),
        "fit_s": fit_s,
        "passes": passes,
        "rows_trained": trained,
        "training_s": seconds,
        "rows_per_s": trained / seconds,
    }
    print(json.dumps(result))
    if args.json:
        write_result(args.json, result)


if __name__ == "__main__":
    main()
