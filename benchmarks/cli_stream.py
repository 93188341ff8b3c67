"""Throughput and peak memory of ``vaeanomaly score`` on large CSV files.

The command reads its input in chunks (``--chunksize`` rows at a time), so its
peak memory should depend on the chunk size, not on the file size. This
benchmark checks that: it generates CSV files of several sizes (correlated
Gaussian data: a few latent factors mixed into ``--columns`` columns plus noise,
and an integer ``id`` column), fits a small model once with ``vaeanomaly fit``
on the first 20,000 rows, then runs ``vaeanomaly score`` on each file as a
separate process under ``/usr/bin/time -v`` and reports its wall time, rows per
second and peak resident set size (RSS).

Files are generated once under ``--workdir`` and reused while they have the
expected number of rows; generation is chunked, so it stays low-memory too.
Nothing is written inside the repository.

Usage::

    python benchmarks/cli_stream.py                          # 500k and 2M rows x 20
    python benchmarks/cli_stream.py --rows 100000 1000000 --chunksize 50000
    python benchmarks/cli_stream.py --workdir /tmp/clistream --columns 20
    python benchmarks/cli_stream.py --json benchmarks/results/cli_stream.json

The verdict line compares the peak RSS of the largest file with that of the
smallest (a ratio near 1 means memory does not grow with the file) and with
the 1 GiB budget.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _provenance import write_result

N_FACTORS = 4
TRAIN_ROWS = 20_000
GEN_CHUNK = 100_000
SEED = 0
BUDGET_MIB = 1024
FLAT_RATIO = 1.25  # peak RSS of the largest / smallest file still called "flat"


def count_lines(path: Path) -> int:
    """Number of newline characters in a file, read in 16 MiB blocks."""
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 24):
            lines += block.count(b"\n")
    return lines


def generate(path: Path, rows: int, columns: int) -> None:
    """Write ``rows`` correlated Gaussian rows (plus an ``id``) in chunks."""
    rng = np.random.default_rng(SEED)
    mixing = rng.normal(size=(N_FACTORS, columns))
    centre = rng.normal(scale=10.0, size=columns)
    scale = rng.uniform(0.5, 5.0, size=columns)
    names = [f"x{j:02d}" for j in range(columns)]
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as handle:
        for start in range(0, rows, GEN_CHUNK):
            n = min(GEN_CHUNK, rows - start)
            factors = rng.standard_normal((n, N_FACTORS))
            noise = 0.3 * rng.standard_normal((n, columns))
            values = centre + scale * (factors @ mixing + noise)
            frame = pd.DataFrame(values, columns=names)
            frame.insert(0, "id", np.arange(start, start + n))
            frame.to_csv(
                handle,
                header=start == 0,
                index=False,
                float_format="%.6g",
                lineterminator="\n",
            )
    os.replace(tmp, path)


def ensure_csv(path: Path, rows: int, columns: int) -> None:
    if path.exists() and count_lines(path) == rows + 1:
        print(f"reusing {path}", file=sys.stderr)
        return
    print(f"generating {path} ({rows:,} rows x {columns})", file=sys.stderr)
    start = time.perf_counter()
    generate(path, rows, columns)
    print(f"  done in {time.perf_counter() - start:.1f} s", file=sys.stderr)


def cli() -> list[str]:
    exe = shutil.which("vaeanomaly")
    return [exe] if exe else [sys.executable, "-m", "vaeanomaly"]


def fit_model(source: Path, workdir: Path, columns: int) -> Path:
    """Fit a small model once on the first TRAIN_ROWS rows of ``source``."""
    model = workdir / f"model_{columns}.vae"
    small = workdir / f"small_{columns}.csv"
    if model.exists():
        print(f"reusing {model}", file=sys.stderr)
        return model
    pd.read_csv(source, nrows=TRAIN_ROWS).to_csv(small, index=False)
    command = cli() + ["fit", str(small), "-o", str(model), "--epochs", "20"]
    command += ["--index-col", "id", "-q"]  # `id` is numeric: keep it out of X
    print("fitting:", " ".join(command), file=sys.stderr)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    print(f"  done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return model


def measured(command: list[str]) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak RSS in MiB) of that process."""
    timer = Path("/usr/bin/time")
    if not timer.exists():
        sys.exit("/usr/bin/time is needed to measure the child's peak RSS.")
    start = time.perf_counter()
    done = subprocess.run(
        [str(timer), "-v", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if found is None:
        sys.exit(f"no peak RSS in /usr/bin/time output:\n{done.stderr}")
    return wall, int(found.group(1)) / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[500_000, 2_000_000])
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/clistream"))
    parser.add_argument(
        "--chunksize", type=int, default=None, help="Default: the CLI's default."
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the result rows here"
    )
    args = parser.parse_args(argv)
    if min(args.rows) < TRAIN_ROWS:
        parser.error(f"--rows must be at least {TRAIN_ROWS:,} (the training rows)")
    args.workdir.mkdir(parents=True, exist_ok=True)

    sizes = sorted(set(args.rows))
    files = {n: args.workdir / f"data_{n}x{args.columns}.csv" for n in sizes}
    for n, path in files.items():
        ensure_csv(path, n, args.columns)
    model = fit_model(files[sizes[0]], args.workdir, args.columns)

    # The fixed cost of every run: imports (torch, scikit-learn) + model load.
    base_wall, base_peak = measured(cli() + ["info", str(model)])

    results = []
    for n, path in files.items():
        out = args.workdir / f"scores_{n}.csv"
        command = cli() + ["score", str(path), "-m", str(model), "-o", str(out)]
        if args.chunksize is not None:
            command += ["--chunksize", str(args.chunksize)]
        command += ["--force", "-q"]
        print("scoring:", " ".join(command), file=sys.stderr)
        wall, peak = measured(command)
        written = count_lines(out) - 1
        if written != n:
            sys.exit(f"{out} has {written:,} rows, expected {n:,}")
        with out.open() as handle:
            header = handle.readline().strip().split(",")
        if header != ["id", "score"]:
            sys.exit(f"{out} has columns {header}, expected ['id', 'score']")
        results.append((n, path.stat().st_size / 1e6, wall, n / wall, peak))

    chunk = args.chunksize if args.chunksize is not None else "CLI default"
    print(f"\n`vaeanomaly score`, {args.columns} columns, chunksize {chunk}\n")
    print("| rows | file MB | wall s | rows/s | peak RSS MiB |")
    print("|---:|---:|---:|---:|---:|")
    for n, size, wall, speed, peak in results:
        print(f"| {n:,} | {size:,.0f} | {wall:.1f} | {speed:,.0f} | {peak:,.0f} |")

    print(
        f"\nBaseline (`vaeanomaly info MODEL`: imports + model load): "
        f"{base_wall:.1f} s wall, {base_peak:,.0f} MiB peak RSS; "
        "rows/s above include that startup."
    )

    if args.json:
        keys = ("rows", "file_mb", "wall_s", "rows_per_s", "peak_rss_mib")
        write_result(
            args.json,
            [dict(zip(keys, r, strict=True)) for r in results],
            argv=[sys.argv[0], *(sys.argv[1:] if argv is None else argv)],
            columns=args.columns,
            chunksize=args.chunksize,
            baseline={"wall_s": base_wall, "peak_rss_mib": base_peak},
        )

    top = max(r[-1] for r in results)
    fits = top < BUDGET_MIB
    budget = f"max {top:,.0f} MiB {'<' if fits else '>='} {BUDGET_MIB} MiB"
    if len(results) == 1:
        print(f"Verdict: one file size only, no growth ratio; {budget}: ", end="")
        print("PASS" if fits else "FAIL")
        return
    (n0, *_, peak0), (n1, *_, peak1) = results[0], results[-1]
    ratio = peak1 / peak0
    flat = ratio <= FLAT_RATIO
    print(
        f"Verdict: peak RSS {n1:,} rows / {n0:,} rows = {ratio:.2f}x "
        f"(file x{n1 / n0:.1f}): {'flat' if flat else 'GROWS with the file'}; "
        f"{budget}: {'PASS' if flat and fits else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
