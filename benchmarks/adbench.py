"""Detection quality on the ADBench development datasets (issue: core).

Protocol (ADBench's own): subsample each dataset to at most 10,000 rows,
stratified 70/30 train/test split, MinMax scaling fitted on the train part,
fit each detector on the unlabeled train part (it contains anomalies), and
report AUROC and average precision on the test part; seeds 0, 1, 2.

Every score method of one fitted VAEAnomalyDetector is evaluated (they share
the fit), beside IsolationForest, LocalOutlierFactor (novelty=True) and PyOD's
VAE when pyod is installed (``pip install -e ".[bench]"``).

Usage::

    python benchmarks/adbench.py                    # all ten datasets, seeds 0-2
    python benchmarks/adbench.py --only vae --set latent_dim=4 --set n_draws=32
    python benchmarks/adbench.py --datasets 6_cardio 29_Pima --seeds 0
"""

from __future__ import annotations

import argparse
import ast
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import MinMaxScaler

from vaeanomaly import VAEAnomalyDetector

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "adbench"
SCORE_METHODS = ("elbo", "iwae", "recon_prob", "recon_error")


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


def result_row(name, seed, detector, y_test, scores, seconds) -> dict:
    """One result: AUROC and average precision of anomaly ``scores``, fit time."""
    return {
        "dataset": name,
        "seed": seed,
        "detector": detector,
        "auroc": roc_auc_score(y_test, scores),
        "ap": average_precision_score(y_test, scores),
        "fit_s": seconds,
    }


def print_mean_tables(rows: list[dict], names: list[str], detectors: list[str]) -> None:
    """Print AUROC and AP tables: mean over seeds per dataset, then the mean row."""
    for metric in ("auroc", "ap"):
        print(f"### {metric.upper()} (mean over seeds)\n")
        print("| dataset | " + " | ".join(detectors) + " |")
        print("|---" * (len(detectors) + 1) + "|")
        table = {}
        for name in names:
            cells = []
            for det in detectors:
                vals = [
                    r[metric]
                    for r in rows
                    if r["dataset"] == name and r["detector"] == det
                ]
                table.setdefault(det, []).append(np.mean(vals))
                cells.append(f"{np.mean(vals):.3f}")
            print(f"| {name} | " + " | ".join(cells) + " |")
        print(
            "| **mean** | "
            + " | ".join(f"**{np.mean(table[d]):.3f}**" for d in detectors)
            + " |\n"
        )


def load(name: str, seed: int):
    data = np.load(DATA / f"{name}.npz", allow_pickle=False)
    X, y = data["X"].astype(np.float64), data["y"].astype(int)
    if len(X) > 10_000:
        X, _, y, _ = train_test_split(
            X, y, train_size=10_000, stratify=y, random_state=seed
        )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    scaler = MinMaxScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_test


def anomaly_scores(name, X_train, X_test, seed, vae_params):
    """Yield (detector name, anomaly scores on X_test, fit seconds)."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = VAEAnomalyDetector(random_state=seed, **vae_params).fit(X_train)
    fit_time = time.perf_counter() - start
    for method in SCORE_METHODS:
        yield (
            f"vae[{method}]",
            -vae.set_params(score_method=method).score_samples(X_test),
            fit_time,
        )
    if name == "vae":
        return
    start = time.perf_counter()
    forest = IsolationForest(random_state=seed).fit(X_train)
    yield "IsolationForest", -forest.score_samples(X_test), time.perf_counter() - start
    start = time.perf_counter()
    lof = LocalOutlierFactor(novelty=True).fit(X_train)
    yield "LOF", -lof.score_samples(X_test), time.perf_counter() - start
    try:
        from pyod.models.vae import VAE
    except ImportError:
        return
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pyod_vae = VAE(random_state=seed, verbose=0).fit(X_train)
    yield "PyOD VAE", pyod_vae.decision_function(X_test), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--datasets", nargs="*", default=None, help="dataset names (default: all)"
    )
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--only", choices=["all", "vae"], default="all", help="vae: skip the baselines"
    )
    add_set_argument(parser)
    parser.add_argument(
        "--json", type=Path, default=None, help="also write raw results here"
    )
    args = parser.parse_args()
    vae_params = parse_params(args.set)
    names = args.datasets or sorted(p.stem for p in DATA.glob("*.npz"))
    rows = []
    for name in names:
        for seed in args.seeds:
            X_train, X_test, y_test = load(name, seed)
            for detector, scores, seconds in anomaly_scores(
                args.only, X_train, X_test, seed, vae_params
            ):
                rows.append(result_row(name, seed, detector, y_test, scores, seconds))
            print(f"done {name} seed {seed}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    detectors = list(dict.fromkeys(r["detector"] for r in rows))
    print(f"\nVAE parameters: {vae_params or 'defaults'}; seeds {args.seeds}\n")
    print_mean_tables(rows, names, detectors)
    print(
        "fit seconds (mean): "
        + ", ".join(
            f"{d}: {np.mean([r['fit_s'] for r in rows if r['detector'] == d]):.1f}"
            for d in detectors
        )
    )


if __name__ == "__main__":
    main()
