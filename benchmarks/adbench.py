"""Detection quality on the ADBench development datasets.

Protocol (ADBench's own): subsample each dataset to at most 10,000 rows,
stratified 70/30 train/test split, MinMax scaling fitted on the train part,
fit each detector on the unlabeled train part (it contains anomalies), and
report AUROC and average precision on the test part; seeds 0, 1, 2, all 23
sets of ``../shared/data/adbench``.

Detectors: ``vae`` (``VAEAnomalyDetector`` with ``--set`` parameters; with
``--all-scores`` each of its score methods, sharing the fit), and the
baselines IsolationForest, LOF (novelty=True), kNN, PCA, ECOD, PyOD's
AutoEncoder and VAE (``pip install -e ".[bench]"``). Baselines do not change
from run to run: keep their rows in a file with ``--json`` and rank the VAE
against them with ``--baselines``; ``--reference`` counts the sets won and
lost against an earlier VAE run.

Usage::

    python benchmarks/adbench.py --jobs 2                # VAE and every baseline
    python benchmarks/adbench.py --detectors vae --jobs 2 \\
        --baselines benchmarks/results/adbench_baselines.json \\
        --reference benchmarks/results/adbench_v0.3.json
    python benchmarks/adbench.py --detectors vae --set n_models=1 --datasets 6_cardio
    python benchmarks/adbench.py --collection embeddings \
        --detectors vae IsolationForest PCA kNN --seeds 0 1 2

``--collection embeddings`` runs the same protocol on the embedding tables
(``../shared/data/embeddings``: ResNet-18 image and BERT text embeddings, 512
and 768 columns), the development set for wide data.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from _evaluation import (  # benchmarks/ is on sys.path as the script folder
    add_report_arguments,
    add_set_argument,
    parse_params,
    print_mean_tables,
    report,
    result_row,
    run_tasks,
)
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import MinMaxScaler

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.scoring import SCORE_METHODS

__all__ = [
    "DATA",
    "add_set_argument",
    "load",
    "parse_params",
    "print_mean_tables",
    "result_row",
]

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA = SHARED_DATA / "adbench"
#: The collections ``--collection`` chooses among: the 23 tabular development
#: sets, and the embedding tables (512 and 768 columns), the development set
#: for wide data. Both follow the same protocol.
COLLECTIONS = {"adbench": DATA, "embeddings": SHARED_DATA / "embeddings"}


def _pyod(name: str, seed: int):
    if name == "kNN":
        from pyod.models.knn import KNN

        return KNN()
    if name == "PCA":
        from pyod.models.pca import PCA

        return PCA(random_state=seed)
    if name == "ECOD":
        from pyod.models.ecod import ECOD

        return ECOD()
    if name == "PyOD AutoEncoder":
        from pyod.models.auto_encoder import AutoEncoder

        return AutoEncoder(random_state=seed, verbose=0)
    from pyod.models.vae import VAE

    return VAE(random_state=seed, verbose=0)


BASELINES = (
    "IsolationForest",
    "LOF",
    "kNN",
    "PCA",
    "ECOD",
    "PyOD AutoEncoder",
    "PyOD VAE",
)


def baseline_scores(detector: str, X_train, X_test, seed: int) -> np.ndarray:
    """Anomaly scores (higher = more anomalous) of a baseline on ``X_test``."""
    if detector == "IsolationForest":
        return -IsolationForest(random_state=seed).fit(X_train).score_samples(X_test)
    if detector == "LOF":
        return -LocalOutlierFactor(novelty=True).fit(X_train).score_samples(X_test)
    return _pyod(detector, seed).fit(X_train).decision_function(X_test)


def load(name: str, seed: int, data_dir: Path = DATA):
    data = np.load(data_dir / f"{name}.npz", allow_pickle=False)
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


def evaluate(
    name: str,
    seed: int,
    detectors: list[str],
    vae_params: dict,
    all_scores: bool,
    data_dir: Path = DATA,
) -> list[dict]:
    """Fit each detector on one dataset and seed; return one row per score."""
    X_train, X_test, y_test = load(name, seed, data_dir)
    rows = []
    for detector in detectors:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if detector != "vae":
                scores = baseline_scores(detector, X_train, X_test, seed)
                seconds = time.perf_counter() - start
                rows.append(result_row(name, seed, detector, y_test, scores, seconds))
                continue
            vae = VAEAnomalyDetector(random_state=seed, **vae_params).fit(X_train)
            seconds = time.perf_counter() - start
            methods = SCORE_METHODS if all_scores else (vae.score_method,)
            for method in methods:
                scores = -vae.set_params(score_method=method).score_samples(X_test)
                label = f"vae[{method}]" if all_scores else "vae"
                rows.append(result_row(name, seed, label, y_test, scores, seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--datasets", nargs="*", default=None, help="dataset names (default: all)"
    )
    parser.add_argument(
        "--detectors",
        nargs="*",
        default=["vae", *BASELINES],
        choices=["vae", *BASELINES],
    )
    parser.add_argument(
        "--all-scores", action="store_true", help="report every VAE score method"
    )
    parser.add_argument(
        "--collection",
        default="adbench",
        choices=sorted(COLLECTIONS),
        help="the tabular development sets, or the embedding tables (wide data)",
    )
    add_report_arguments(parser)
    args = parser.parse_args()
    vae_params = parse_params(args.set)
    data_dir = COLLECTIONS[args.collection]
    names = args.datasets or sorted(p.stem for p in data_dir.glob("*.npz"))
    tasks = [
        (name, seed, args.detectors, vae_params, args.all_scores, data_dir)
        for name in names
        for seed in args.seeds
    ]
    # Largest sets first, so that parallel runs end together.
    tasks.sort(key=lambda t: -np.load(data_dir / f"{t[0]}.npz")["X"].size)
    rows = run_tasks(evaluate, tasks, args.jobs)
    report(rows, names, args)


if __name__ == "__main__":
    main()
