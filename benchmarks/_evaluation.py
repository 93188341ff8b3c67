"""What the quality benchmarks share: parameters, result rows, tables, ranks, runs.

``adbench.py`` (numeric tables) and ``categorical.py`` (categorical tables)
both evaluate detectors on (dataset, seed) tasks and print the same report:
per-set AUROC and AP tables with their means, average AUROC ranks, wins and
losses of the VAE against a reference run, and the spread over seeds.
"""

from __future__ import annotations

import argparse
import ast
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from _provenance import read_rows, write_result
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score

#: A change of the mean over seeds smaller than this is a tie, not a win.
TIE = 0.005


def parse_params(items: list[str]) -> dict:
    """Turn ``--set KEY=VALUE`` items into parameters (values as Python literals)."""
    params = {}
    for item in items:
        key, value = item.split("=", 1)
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--set KEY=VALUE`` (repeatable) for VAEAnomalyDetector parameters."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="VAEAnomalyDetector parameter",
    )


def add_sequence_set_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--sequence-set KEY=VALUE`` (repeatable) for SequenceVAEDetector."""
    parser.add_argument(
        "--sequence-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="SequenceVAEDetector parameter",
    )


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options every quality benchmark shares."""
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--jobs", type=int, default=1, help="(dataset, seed) tasks run in parallel"
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the result rows here"
    )
    parser.add_argument(
        "--baselines",
        type=Path,
        default=None,
        help="result rows of other detectors (a --json file) to rank against",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        nargs="+",
        default=None,
        help="--json files of an earlier VAE run (rows joined): count the sets won "
        "and lost",
    )
    add_set_argument(parser)


def result_row(name, seed, detector, y_test, scores, seconds) -> dict:
    """One result: AUROC and average precision of anomaly ``scores``, fit time.

    Infinite scores (LOF on duplicated rows, for one) keep their rank: they
    are replaced by finite values beyond the others. NaN ranks as most normal.
    """
    scores = np.asarray(scores, dtype=np.float64)
    finite = scores[np.isfinite(scores)]
    if len(finite) < len(scores):
        low, high = (finite.min(), finite.max()) if len(finite) else (0.0, 0.0)
        scores = np.nan_to_num(scores, nan=low - 2, posinf=high + 1, neginf=low - 1)
    return {
        "dataset": name,
        "seed": seed,
        "detector": detector,
        "auroc": float(roc_auc_score(y_test, scores)),
        "ap": float(average_precision_score(y_test, scores)),
        "fit_s": seconds,
    }


def _per_set(rows: list[dict], detector: str, metric: str) -> dict[str, float]:
    """Mean of ``metric`` over seeds, per dataset, for one detector."""
    values: dict[str, list[float]] = {}
    for r in rows:
        if r["detector"] == detector:
            values.setdefault(r["dataset"], []).append(r[metric])
    return {name: float(np.mean(v)) for name, v in values.items()}


def mean_over_sets(rows: list[dict], names: list[str], detector: str, metric: str):
    """Mean over ``names`` of the per-set means over seeds (NaN if a set is missing)."""
    table = _per_set(rows, detector, metric)
    return float(np.mean([table.get(n, np.nan) for n in names]))


def average_ranks(
    rows: list[dict], names: list[str], detectors: list[str]
) -> tuple[dict[str, float], int]:
    """Average AUROC rank (1 = best) of each detector over the sets all of them ran.

    Returns the ranks by detector and the number of sets they are averaged over.
    """
    table = np.array(
        [[_per_set(rows, d, "auroc").get(n, np.nan) for d in detectors] for n in names]
    )
    complete = ~np.isnan(table).any(axis=1)
    ranks = np.array([rankdata(-row) for row in table[complete]])
    means = ranks.mean(axis=0)
    return {d: float(means[j]) for j, d in enumerate(detectors)}, int(complete.sum())


def won_lost(deltas: dict[str, float]) -> tuple[int, int]:
    """Sets won and lost: per-set changes of the mean over seeds beyond :data:`TIE`."""
    return (
        sum(d > TIE for d in deltas.values()),
        sum(d < -TIE for d in deltas.values()),
    )


def print_mean_tables(rows: list[dict], names: list[str], detectors: list[str]) -> None:
    """Print AUROC and AP tables: mean over seeds per dataset, then the mean row."""
    for metric in ("auroc", "ap"):
        print(f"### {metric.upper()} (mean over seeds)\n")
        print("| dataset | " + " | ".join(detectors) + " |")
        print("|---" * (len(detectors) + 1) + "|")
        table = {d: _per_set(rows, d, metric) for d in detectors}
        for name in names:
            cells = [f"{table[d].get(name, np.nan):.3f}" for d in detectors]
            print(f"| {name} | " + " | ".join(cells) + " |")
        means = [mean_over_sets(rows, names, d, metric) for d in detectors]
        print("| **mean** | " + " | ".join(f"**{m:.3f}**" for m in means) + " |\n")


def print_ranks(rows: list[dict], names: list[str], detectors: list[str]) -> None:
    """Print each detector's average AUROC rank over the datasets (1 = best)."""
    ranks, n_sets = average_ranks(rows, names, detectors)
    print(f"### Average AUROC rank over {n_sets} sets (1 = best)\n")
    for d in sorted(ranks, key=ranks.get):
        print(f"- {d}: {ranks[d]:.2f}")
    print()


def print_comparison(
    rows: list[dict], reference: list[dict], names: list[str], detector: str
) -> None:
    """Print per-set differences of ``detector`` against the reference run.

    A set is won or lost when its mean over seeds moves by more than
    :data:`TIE`.
    """
    ref_name = reference[0]["detector"]
    print(f"### {detector} against the reference ({ref_name}, earlier run)\n")
    print("| dataset | ΔAUROC | ΔAP |")
    print("|---|---|---|")
    tally = {}
    for metric in ("auroc", "ap"):
        new, old = (
            _per_set(rows, detector, metric),
            _per_set(reference, ref_name, metric),
        )
        shared = [n for n in names if n in new and n in old]
        deltas = {n: new[n] - old[n] for n in shared}
        tally[metric] = (
            *won_lost(deltas),
            float(np.mean([new[n] for n in shared])),
            float(np.mean([old[n] for n in shared])),
            deltas,
        )
    for n in names:
        if n in tally["auroc"][4]:
            print(f"| {n} | {tally['auroc'][4][n]:+.3f} | {tally['ap'][4][n]:+.3f} |")
    print()
    for metric, (won, lost, new_mean, old_mean, _) in tally.items():
        print(
            f"{metric.upper()}: mean {new_mean:.3f} vs {old_mean:.3f} "
            f"({new_mean - old_mean:+.3f}); sets won {won}, lost {lost} "
            f"(by > {TIE})"
        )
    print()


def print_seed_spread(rows: list[dict], names: list[str], detector: str) -> None:
    """Print, per set, how far the worst seed's AUROC falls below the median."""
    gaps = {}
    for n in names:
        values = [
            r["auroc"] for r in rows if r["dataset"] == n and r["detector"] == detector
        ]
        if len(values) > 1:
            gaps[n] = float(np.median(values) - np.min(values))
    if not gaps:
        return
    worst = sorted(gaps, key=gaps.get, reverse=True)
    over = [n for n in worst if gaps[n] > 0.05]
    print(
        f"{detector}: worst seed below the median AUROC by at most "
        f"{gaps[worst[0]]:.3f} ({worst[0]}); sets over 0.05: {over or 'none'}\n"
    )


def print_fit_times(
    rows: list[dict],
    names: list[str],
    detector: str = "vae",
    baseline: str = "IsolationForest",
    reference: list[dict] | None = None,
) -> None:
    """Print per-set fit seconds, their median and maximum, and time ratios.

    Fit times are comparable only within one run on one machine: the ratios
    are to ``baseline`` fitted in the same run and, per set, to a reference
    run (run it on the same machine with ``--jobs 1`` for times that mean
    anything).

    Parameters
    ----------
    rows : list of dict
        Result rows of this run (``dataset``, ``detector``, ``fit_s``).
    names : list of str
        Datasets, in the order to print.
    detector : str, default="vae"
        The detector whose fit time is summarised.
    baseline : str, default="IsolationForest"
        A detector of the same run to divide by; skipped when absent.
    reference : list of dict, optional
        Rows of an earlier run of ``detector``: per-set times before.
    """
    ours = _per_set(rows, detector, "fit_s")
    if not ours:
        return
    base = _per_set(rows, baseline, "fit_s")
    before = _per_set(reference, detector, "fit_s") if reference else {}
    print(f"### Fit seconds of {detector} (mean over seeds)\n")
    header = ["dataset", f"{detector} s"]
    if before:
        header += ["reference s", "reference / now"]
    if base:
        header += [f"{baseline} s", f"{detector} / {baseline}"]
    print("| " + " | ".join(header) + " |")
    print("|---" * len(header) + "|")
    for name in names:
        if name not in ours:
            continue
        cells = [name, f"{ours[name]:.2f}"]
        if before:
            old = before.get(name)
            cells += [f"{old:.2f}", f"{old / ours[name]:.1f}x"] if old else ["–", "–"]
        if base:
            b = base.get(name)
            cells += [f"{b:.3f}", f"{ours[name] / b:.0f}x"] if b else ["–", "–"]
        print("| " + " | ".join(cells) + " |")
    shown = [n for n in names if n in ours]
    times = np.array([ours[n] for n in shown])
    slowest = shown[int(np.argmax(times))]
    print(
        f"\n{detector}: median fit {np.median(times):.2f} s, slowest "
        f"{times.max():.2f} s ({slowest}) over {len(shown)} sets"
    )
    if before:
        shared = [n for n in shown if n in before]
        old = np.array([before[n] for n in shared])
        now = np.array([ours[n] for n in shared])
        print(
            f"reference: median {np.median(old):.2f} s, slowest {old.max():.2f} s; "
            f"median speed-up per set {np.median(old / now):.1f}x, "
            f"ratio of medians {np.median(old) / np.median(now):.1f}x"
        )
    if base:
        shared = [n for n in shown if n in base]
        ratio = np.array([ours[n] / base[n] for n in shared])
        print(
            f"{detector} / {baseline} fit time: median over sets "
            f"{np.median(ratio):.0f}x (range {ratio.min():.0f}-{ratio.max():.0f}x)"
        )
    print()


def _one_thread() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


def run_tasks(
    task: Callable[..., list[dict]], args: Iterable[tuple], jobs: int
) -> list[dict]:
    """Run ``task(*a)`` for each ``a``, ``jobs`` at a time; gather the result rows."""
    args = list(args)
    rows: list[dict] = []
    if jobs <= 1:
        _one_thread()
        for a in args:
            rows += task(*a)
            print(f"done {a[:2]}", flush=True)
        return rows
    with ProcessPoolExecutor(max_workers=jobs, initializer=_one_thread) as pool:
        results = pool.map(task, *zip(*args, strict=True))
        for a, result in zip(args, results, strict=True):
            rows += result
            print(f"done {a[:2]}", flush=True)
    return rows


def report(
    rows: list[dict], names: list[str], args: argparse.Namespace, vae: str = "vae"
) -> None:
    """Write ``--json``, then print tables, ranks, comparison and seed spread.

    The rows are written with their provenance (``_provenance.write_result``);
    ``--baselines`` and ``--reference`` files are read with or without it.
    """
    if args.json:
        write_result(
            args.json,
            rows,
            parameters=parse_params(args.set),
            seeds=args.seeds,
            jobs=args.jobs,
        )
    everything = list(rows)
    if args.baselines:
        ours = {r["detector"] for r in rows}
        everything += [
            r
            for r in read_rows(args.baselines)
            if r["detector"] not in ours and r["seed"] in args.seeds
        ]
    detectors = list(dict.fromkeys(r["detector"] for r in everything))
    print(
        f"\nVAE parameters: {parse_params(args.set) or 'defaults'}; "
        f"seeds {args.seeds}\n"
    )
    print_mean_tables(everything, names, detectors)
    if len(detectors) > 1:
        print_ranks(everything, names, detectors)
    reference = []
    if args.reference:
        reference = [
            r
            for path in args.reference
            for r in read_rows(path)
            if r["seed"] in args.seeds and r["detector"] == vae
        ]
    if reference and any(r["detector"] == vae for r in rows):
        print_comparison(rows, reference, names, vae)
    for d in dict.fromkeys(r["detector"] for r in rows):
        print_seed_spread(rows, names, d)
    fit_times = {
        d: np.median([r["fit_s"] for r in everything if r["detector"] == d])
        for d in detectors
    }
    print(
        "fit seconds (median over tasks): "
        + ", ".join(f"{d}: {t:.2f}" for d, t in fit_times.items())
        + "\n"
    )
    print_fit_times(rows, names, vae, reference=reference)
