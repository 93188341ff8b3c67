"""Scale-out: score a 10-million-row parquet dataset on a local Dask cluster.

Generates ``--rows`` x ``--columns`` of correlated data as parquet files
(once; reused if present), fits a model on a 50,000-row sample with
``vaeanomaly.dask.fit_sample``, then scores every row twice, writing the
scores to parquet both times:

- single process: read each parquet file with pandas, score it, write it;
- ``distributed.LocalCluster`` with ``--workers`` worker processes (one
  thread each) through ``vaeanomaly.dask.score``.

It prints rows/s of both and their ratio. On a real multi-node cluster only
the ``Client(address)`` line changes.

Usage::

    python benchmarks/dask_scale.py                      # 10M rows x 20, 2 workers
    python benchmarks/dask_scale.py --rows 1000000 --workers 2
    python benchmarks/dask_scale.py --json benchmarks/results/dask_scale.json
"""

from __future__ import annotations

import argparse
import shutil
import time
import warnings
from pathlib import Path

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from _provenance import write_result
from distributed import Client, LocalCluster

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly import dask as vdask


def generate(path: Path, n_rows: int, n_columns: int, partitions: int) -> None:
    if path.exists() and dd.read_parquet(path).shape[0].compute() == n_rows:
        return
    shutil.rmtree(path, ignore_errors=True)
    rs = da.random.RandomState(0)
    chunk = n_rows // partitions
    factors = rs.normal(size=(n_rows, 4), chunks=(chunk, 4))
    mixing = np.random.default_rng(1).normal(size=(4, n_columns))
    X = (
        factors @ mixing
        + 0.3 * rs.normal(size=(n_rows, n_columns), chunks=(chunk, n_columns))
    ).astype(np.float32)
    columns = [f"c{j}" for j in range(n_columns)]
    dd.from_dask_array(X, columns=columns).to_parquet(path, write_index=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--workdir", type=Path, default=Path("/tmp/vaeanomaly-dask-bench")
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the result rows here"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = args.workdir / f"data_{args.rows}x{args.columns}.parquet"

    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        start = time.perf_counter()
        generate(data, args.rows, args.columns, args.partitions)
        print(f"data ready in {time.perf_counter() - start:.0f} s: {data}")
        ddf = dd.read_parquet(data)
        detector = VAEAnomalyDetector(random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vdask.fit_sample(detector, ddf, n_rows=50_000, random_state=0)

        out = args.workdir / "scores_cluster.parquet"
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        vdask.score(detector, ddf).to_frame().to_parquet(out)
        cluster_s = time.perf_counter() - start

    out = args.workdir / "scores_single"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    start = time.perf_counter()
    rows = 0
    for i, part in enumerate(sorted(data.glob("*.parquet"))):
        frame = pd.read_parquet(part)
        scores = pd.DataFrame({"score": detector.score_samples(frame)})
        scores.to_parquet(out / f"part.{i}.parquet")
        rows += len(frame)
    single_s = time.perf_counter() - start

    print(
        f"\n{args.rows:,} rows x {args.columns} columns, {args.partitions} partitions\n"
    )
    print("| mode | seconds | rows/s |\n|---|---:|---:|")
    print(f"| single process | {single_s:.1f} | {rows / single_s:,.0f} |")
    mode = f"LocalCluster, {args.workers} workers x 1 thread"
    print(f"| {mode} | {cluster_s:.1f} | {args.rows / cluster_s:,.0f} |")
    print(f"\nspeed-up: {single_s / cluster_s:.2f}x")
    if args.json:
        write_result(
            args.json,
            [
                {"mode": "single process", "seconds": single_s},
                {"mode": mode, "seconds": cluster_s},
            ],
            n_rows=args.rows,
            columns=args.columns,
            partitions=args.partitions,
            workers=args.workers,
        )


if __name__ == "__main__":
    main()
