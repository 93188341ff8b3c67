"""Speed: fit time against PyOD's VAE, scoring throughput, FLOP/s, memory.

Everything is measured in one run on the same synthetic data (correlated
Gaussian columns) and reported as ratios, which survive a shared, noisy
machine better than absolute times.

1. Fit wall time of ``VAEAnomalyDetector()`` and ``pyod.models.vae.VAE()``,
   both with default parameters, for each ``--rows`` x ``--columns``, with
   our epochs (ranking fit + final fit), batch size and rows trained per
   second (epochs x rows / training time). Above ``--pyod-max-rows``, PyOD's
   time is one timed epoch times its epoch count (it has no early stopping,
   so its epochs are alike); ``--no-pyod`` leaves it out, ``--device`` and
   ``--n-jobs`` set ours.
2. Scoring throughput (rows/s) with n_draws = 1, 16, 64, beside the
   floating-point operations of the encoder and decoder matmuls each needs:
   time should grow no faster than the FLOPs.
3. Achieved GFLOP/s of scoring against a plain chain of matmuls of the same
   shapes (the machine's practical limit for this work).
4. Peak RSS of a process that scores N rows, for two N: it should be set by
   the batch size, not by N.
5. ``--step-rows``: the time of one training step by batch size (why the
   automatic batch grows with the table).
6. ``--fit-memory-rows``: peak RSS and time of a fit in a fresh process.

Usage::

    python benchmarks/speed.py                         # 10k and 100k rows x 20, 100
    python benchmarks/speed.py --rows 1000000 --score-rows 0 --memory-rows
        # 1M rows: PyOD times one epoch, multiplied by its epoch count
    python benchmarks/speed.py --rows --score-rows 0 --memory-rows \
        --step-rows 128 1024 4096 --fit-memory-rows 1000000 --n-jobs 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
from _provenance import write_result  # benchmarks/ is on sys.path

from vaeanomaly import VAEAnomalyDetector, save_model


def make_data(n_rows: int, n_columns: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n_rows, 4))
    mixing = rng.normal(size=(4, n_columns))
    return (factors @ mixing + 0.3 * rng.normal(size=(n_rows, n_columns))).astype(
        np.float64
    )


def fit_seconds(make, X, **fit_params) -> tuple[float, object]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make().fit(X, **fit_params)
    return time.perf_counter() - start, model


def _layers(part: torch.nn.Module) -> list[torch.Tensor]:
    """Weights ``(n_in, n_out)`` of the first member's layers, in order.

    The fitted ``module_``'s layers hold one weight ``(members, n_in, n_out)``
    each; they are read as plain torch parameters.
    """
    return [
        weight.detach()[0]
        for name, weight in part.named_parameters()
        if name.endswith("weight") and weight.dim() == 3
    ]


def matmul_flops(det: VAEAnomalyDetector, n_rows: int, n_draws: int) -> float:
    """FLOPs of the encoder (once per row) and decoder (once per draw) matmuls."""
    flops_enc = sum(2 * w.shape[0] * w.shape[1] for w in _layers(det.module_.encoder))
    flops_dec = sum(2 * w.shape[0] * w.shape[1] for w in _layers(det.module_.decoder))
    return float(n_rows * (flops_enc + n_draws * flops_dec))


def matmul_chain_gflops(det: VAEAnomalyDetector, n_rows: int, n_draws: int) -> float:
    """GFLOP/s of bare matmuls with the scoring's shapes and dtype (float64).

    This is the machine's practical limit for the scoring's matmul work.
    """
    enc = [w.double().contiguous() for w in _layers(det.module_.encoder)]
    dec = [w.double().contiguous() for w in _layers(det.module_.decoder)]
    rows = min(n_rows, 4096)
    x = torch.randn(rows, enc[0].shape[0], dtype=torch.float64)
    z = torch.randn(n_draws, rows, dec[0].shape[0], dtype=torch.float64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same as scoring with n_jobs=None
    with torch.inference_mode():
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            h = x
            for w in enc[:-2]:
                h = h @ w
            h @ enc[-2]
            h @ enc[-1]
            g = z
            for w in dec:
                g = g @ w
            best = min(best, time.perf_counter() - start)
    torch.set_num_threads(threads)
    return matmul_flops(det, rows, n_draws) / best / 1e9


class TrainingMeter:
    """Epoch callback that adds up the rows trained and the seconds spent.

    Both fits count (the ranking fit of ``trim`` and the final one), so
    ``rows_per_second`` is the loop's throughput: epochs x rows / training
    time, validation included.
    """

    def __init__(self) -> None:
        self.rows = 0
        self.seconds = 0.0
        self.epochs = {1: 0, 2: 0}

    def __call__(self, record: dict) -> None:
        self.rows += record["rows"]
        self.seconds += record["dur"]
        self.epochs[record["fit_pass"]] += 1

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


def _in_fresh_process(code: str) -> tuple:
    """Run ``code`` in a new Python (benchmarks/ importable); its printed floats."""
    preamble = f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
    out = subprocess.run(
        [sys.executable, "-c", preamble + code],
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(map(float, out.stdout.split()))


def peak_rss_scoring(model_path: str, n_rows: int, n_columns: int) -> tuple:
    """Peak RSS (MiB) of a fresh process that loads a model and scores n_rows.

    The input is built in float32 chunks, so the high-water mark before
    scoring is the model plus the input; the rise after it is the scoring's.
    """
    code = f"""
import resource, numpy as np
from speed import make_data
from vaeanomaly import load_model
from speed import pin_mmap_threshold
pin_mmap_threshold()  # as the command line does
det = load_model({model_path!r})
X = np.empty(({n_rows}, {n_columns}), dtype=np.float32)
for start in range(0, {n_rows}, 50_000):
    stop = min(start + 50_000, {n_rows})
    X[start:stop] = make_data(stop - start, {n_columns}, seed=start)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
det.score_samples(X)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before / 1024, peak / 1024, X.nbytes / 2**20)
"""
    return _in_fresh_process(code)


def peak_rss_fit(n_rows: int, n_columns: int, n_jobs: int | None) -> tuple:
    """Peak RSS (MiB) of a fresh process that fits on n_rows x n_columns.

    Returns the high-water mark before the fit (the float64 input built),
    after it, the input's size, and the fit's seconds: the rise should be a
    small multiple of the input (its encoded copies), not grow with epochs.
    """
    code = f"""
import resource, time, warnings
from speed import make_data
from vaeanomaly import VAEAnomalyDetector
X = make_data({n_rows}, {n_columns})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    VAEAnomalyDetector(random_state=0, n_jobs={n_jobs!r}, device="cpu").fit(X)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before / 1024, peak / 1024, X.nbytes / 2**20, seconds)
"""
    return _in_fresh_process(code)


def step_milliseconds(n_columns: int, batch_size: int, epochs: int = 6) -> float:
    """Fastest epoch's time per step, in ms, of a fit of fixed steps (one thread).

    The model is the default one for ``n_columns`` columns, fitted without
    trimming or a validation part on 20 batches of ``batch_size`` rows for
    ``epochs`` epochs; an epoch's ``dur`` in ``history_`` over its 20 steps is
    a step's time (the first epoch, with its one-time costs, is left out).
    """
    X = make_data(20 * batch_size, n_columns)
    det = VAEAnomalyDetector(
        max_epochs=epochs,
        batch_size=batch_size,
        learning_rate=1e-3,
        trim=None,
        validation_fraction=0.0,
        patience=None,
        min_steps=0,
        random_state=0,
        device="cpu",
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            det.fit(X)
    finally:
        torch.set_num_threads(threads)
    steps = len(X) // batch_size
    return min(record["dur"] for record in det.history_[1:]) / steps * 1e3


def pin_mmap_threshold() -> bool:
    """Pin glibc's mmap threshold at 128 KiB, as the command line does at start.

    Freed scoring batches then go back to the system at once, so a process's
    peak memory is what scoring holds, not what the allocator keeps.
    """
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(-3, 128 * 1024))  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def row(*cells) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def header(*names) -> None:
    row(*names)
    row(*["---:"] * len(names))


def _pyod_text(seconds: float | None, epochs: int | None) -> str:
    if seconds is None:
        return "not run"
    if epochs is not None:
        return f"{seconds:.0f} (1 epoch x {epochs})"
    return f"{seconds:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--columns", nargs="*", type=int, default=[20, 100])
    parser.add_argument(
        "--pyod-max-rows",
        type=int,
        default=100_000,
        help="above this size, time one PyOD epoch and multiply by its epoch count",
    )
    parser.add_argument(
        "--score-rows", type=int, default=100_000, help="0 skips the scoring table"
    )
    parser.add_argument(
        "--memory-rows", nargs="*", type=int, default=[100_000, 1_000_000]
    )
    parser.add_argument(
        "--n-jobs", type=int, default=None, help="VAEAnomalyDetector(n_jobs=...)"
    )
    parser.add_argument(
        "--device", default="cpu", help="VAEAnomalyDetector(device=...)"
    )
    parser.add_argument("--no-pyod", action="store_true", help="skip PyOD's fits")
    parser.add_argument(
        "--step-rows",
        nargs="*",
        type=int,
        default=[],
        help="time one training step at these batch sizes (20 columns, from a fit)",
    )
    parser.add_argument(
        "--fit-memory-rows",
        nargs="*",
        type=int,
        default=[],
        help="peak RSS of a fit of this many rows x 20 columns, fresh process",
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"torch {torch.__version__}, {cores} cores\n")
    results = {"fit": [], "score": [], "memory": []}

    print("## Fit time (defaults)\n")
    header(
        "rows",
        "cols",
        "ours s",
        "epochs (ranking + final)",
        "batch",
        "rows trained/s",
        "PyOD VAE s",
        "ours / PyOD",
    )
    try:
        from pyod.models.vae import VAE as PyODVAE
    except ImportError:
        PyODVAE = None
    # One-time costs (imports, first kernels) are paid before any timing: a
    # first PyOD fit of 3,000 rows took 7.5 s for 1 epoch, the next 1.4 s
    # for 2, and the one timed epoch at 1M rows is multiplied by 30.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        VAEAnomalyDetector(max_epochs=1, random_state=0, device=args.device).fit(
            make_data(500, 5)
        )
        if PyODVAE is not None:
            PyODVAE(epoch_num=1, verbose=0).fit(make_data(500, 5))
    for n_columns in args.columns:
        for n_rows in args.rows:
            X = make_data(n_rows, n_columns)
            meter = TrainingMeter()
            ours, det = fit_seconds(
                lambda: VAEAnomalyDetector(
                    random_state=0, n_jobs=args.n_jobs, device=args.device
                ),
                X,
                callback=meter,
            )
            # epochs: PyOD's epoch count when its time is one epoch x epochs.
            pyod, epochs = None, None
            if PyODVAE is not None and not args.no_pyod:
                # Same thread count as ours (n_jobs=None is one torch thread):
                # with two OpenMP threads beside another process on a 2-core
                # machine, PyOD spent 87 ms per step spin-waiting.
                threads = torch.get_num_threads()
                torch.set_num_threads(1)
                try:
                    if n_rows <= args.pyod_max_rows:
                        pyod, _ = fit_seconds(
                            lambda: PyODVAE(verbose=0, random_state=0), X
                        )
                    else:
                        # PyOD has no early stopping: its fit is epoch_num
                        # equal epochs, so one timed epoch gives the whole.
                        epochs = PyODVAE().epoch_num
                        one, _ = fit_seconds(
                            lambda: PyODVAE(epoch_num=1, verbose=0, random_state=0),
                            X,
                        )
                        pyod = one * epochs
                finally:
                    torch.set_num_threads(threads)
            row(
                f"{n_rows:,}",
                n_columns,
                f"{ours:.1f}",
                f"{meter.epochs[1]} + {meter.epochs[2]}",
                det.batch_size_,
                f"{meter.rows_per_second:,.0f}",
                _pyod_text(pyod, epochs),
                f"{ours / pyod:.2f}" if pyod else "–",
            )
            results["fit"].append(
                {
                    "rows": n_rows,
                    "cols": n_columns,
                    "ours_s": ours,
                    "epochs": det.n_iter_,
                    "ranking_epochs": meter.epochs[1],
                    "batch_size": det.batch_size_,
                    "rows_trained": meter.rows,
                    "training_s": meter.seconds,
                    "rows_per_s": meter.rows_per_second,
                    "pyod_s": pyod,
                    "pyod_extrapolated": epochs is not None,
                }
            )

    print("\n## Scoring throughput\n")
    for n_columns in args.columns if args.score_rows > 0 else []:
        det = VAEAnomalyDetector(max_epochs=2, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            det.fit(make_data(5000, n_columns))
        X = make_data(args.score_rows, n_columns, seed=1)
        print(
            f"{n_columns} columns, hidden {det.hidden_dims_}, latent "
            f"{det.latent_dim_}, {args.score_rows:,} rows\n"
        )
        header(
            "n_draws",
            "rows/s",
            "time vs 1 draw",
            "FLOPs vs 1 draw",
            "time ratio / FLOP ratio",
            "GFLOP/s",
            "matmul-chain GFLOP/s",
            "share",
        )
        base_time = base_flops = None
        for n_draws in (1, 16, 64):
            det.set_params(n_draws=n_draws)
            det.score_samples(X[:1000])  # warm-up
            start = time.perf_counter()
            det.score_samples(X)
            seconds = time.perf_counter() - start
            flops = matmul_flops(det, len(X), n_draws)
            base_time, base_flops = base_time or seconds, base_flops or flops
            achieved = flops / seconds / 1e9
            limit = matmul_chain_gflops(det, len(X), n_draws)
            row(
                n_draws,
                f"{len(X) / seconds:,.0f}",
                f"{seconds / base_time:.2f}",
                f"{flops / base_flops:.2f}",
                f"{(seconds / base_time) / (flops / base_flops):.2f}",
                f"{achieved:.2f}",
                f"{limit:.2f}",
                f"{achieved / limit:.0%}",
            )
            results["score"].append(
                {
                    "cols": n_columns,
                    "n_draws": n_draws,
                    "seconds": seconds,
                    "flops": flops,
                    "gflops": achieved,
                    "chain_gflops": limit,
                }
            )
        print()

    print("## Peak memory while scoring (fresh process, 20 columns, float32 input)\n")
    header(
        "rows",
        "input MiB",
        "peak RSS before scoring MiB",
        "peak RSS after MiB",
        "rise MiB",
    )
    det = VAEAnomalyDetector(max_epochs=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        det.fit(make_data(5000, 20))
    with tempfile.TemporaryDirectory() as folder:
        model_path = f"{folder}/speed.vae"
        save_model(det, model_path)
        for n_rows in args.memory_rows:
            before, peak, nbytes = peak_rss_scoring(model_path, n_rows, 20)
            row(
                f"{n_rows:,}",
                f"{nbytes:.0f}",
                f"{before:.0f}",
                f"{peak:.0f}",
                f"{peak - before:.0f}",
            )
            results["memory"].append(
                {
                    "rows": n_rows,
                    "input_mib": nbytes,
                    "before_mib": before,
                    "peak_mib": peak,
                }
            )
    if args.step_rows:
        print("\n## One training step (20 columns, one thread, fastest epoch)\n")
        header("batch rows", "ms per step", "rows per second")
        results["step"] = []
        for batch_size in args.step_rows:
            ms = step_milliseconds(20, batch_size)
            row(f"{batch_size:,}", f"{ms:.2f}", f"{batch_size / ms * 1e3:,.0f}")
            results["step"].append({"batch_size": batch_size, "ms": ms})
    if args.fit_memory_rows:
        print(
            "\n## Peak memory while fitting (fresh process, 20 columns, float64 "
            "input)\n"
        )
        header("rows", "input MiB", "peak RSS before fit MiB", "after MiB", "fit s")
        results["fit_memory"] = []
        for n_rows in args.fit_memory_rows:
            before, peak, nbytes, seconds = peak_rss_fit(n_rows, 20, args.n_jobs)
            row(
                f"{n_rows:,}",
                f"{nbytes:.0f}",
                f"{before:.0f}",
                f"{peak:.0f}",
                f"{seconds:.1f}",
            )
            results["fit_memory"].append(
                {
                    "rows": n_rows,
                    "input_mib": nbytes,
                    "before_mib": before,
                    "peak_mib": peak,
                    "fit_s": seconds,
                }
            )
    if args.json:
        write_result(args.json, results)


if __name__ == "__main__":
    main()
