"""
Scoring with Dask
=================

Score a table that is split across workers.

Starts a local cluster of two worker processes (on a real cluster, pass its
address to ``Client`` instead: nothing else changes), fits on a sample, scores
every partition, and sets a threshold over all scores. It also shows
dask-ml's ``ParallelPostFit`` wrapper, which runs ``predict`` per partition::

    pip install -e ".[dask]" && python examples/dask_scoring.py
"""

import argparse
import sys

import numpy as np
import pandas as pd

try:
    import dask.dataframe as dd
    from dask_ml.wrappers import ParallelPostFit
    from distributed import Client, LocalCluster
except ImportError:
    print("This example needs the dask extra: pip install -e '.[dask]'.")
    sys.exit(0)

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly import dask as vdask

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--quick", action="store_true", help="small data, few epochs (CI)")
args = parser.parse_args()

n_rows = 20_000 if args.quick else 200_000
rng = np.random.default_rng(0)
latent = rng.normal(size=(n_rows, 2))
frame = pd.DataFrame(
    latent @ rng.normal(size=(2, 6)) + 0.1 * rng.normal(size=(n_rows, 6)),
    columns=[f"sensor_{i}" for i in range(6)],
)
frame.iloc[::5000] += 3.0  # a few broken rows

if __name__ == "__main__":
    with LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        with Client(cluster):
            ddf = dd.from_pandas(frame, npartitions=8)
            detector = VAEAnomalyDetector(
                max_epochs=5 if args.quick else 100, random_state=0
            )
            vdask.fit_sample(
                detector, ddf, n_rows=5_000 if args.quick else 50_000, random_state=0
            )
            scores = vdask.score(detector, ddf)
            offset = vdask.offset_from_scores(
                scores, "contamination", contamination=0.001
            )
            flagged = (scores < offset).sum().compute()
            print(f"scored {n_rows:,} rows on 2 workers; {flagged} below the 0.1%")

            wrapped = ParallelPostFit(detector)  # predict runs per partition
            labels = wrapped.predict(ddf).compute()
            print(
                f"ParallelPostFit: {(labels == -1).sum()} rows labelled -1 at offset_"
            )
