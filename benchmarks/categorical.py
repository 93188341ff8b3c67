"""Detection quality on the categorical development tables.

Six real tables whose columns are all categorical (``../shared/data/
categorical``, README there). Protocol as for ADBench: stratified 70/30
train/test split per seed, fit on the unlabeled train part (anomalies
included), AUROC and average precision on the test part; seeds 0, 1, 2.

Detectors: ``vae`` (``VAEAnomalyDetector`` on the text columns as they are:
native categorical heads, ``--set`` parameters), and the baselines

- ``AVF``: attribute value frequency, the sum over columns of -log of the
  level's frequency in train (add-one smoothed): the independence model that
  a model of the columns' couplings must beat;
- ``IsolationForest`` and ``PyOD VAE`` on one-hot columns (the encoder fitted
  on train, unseen levels all zero).

Usage::

    python benchmarks/categorical.py --jobs 2
    python benchmarks/categorical.py --detectors vae --jobs 2 \\
        --baselines benchmarks/results/categorical_baselines.json \\
        --reference benchmarks/results/categorical_v0.3.json
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _evaluation import (  # benchmarks/ is on sys.path as the script folder
    add_report_arguments,
    parse_params,
    report,
    result_row,
    run_tasks,
)
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.scoring import SCORE_METHODS

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "categorical"
BASELINES = ("AVF", "IsolationForest", "PyOD VAE")


def split(name: str, seed: int):
    """Train and test tables (text columns) and their labels."""
    frame = pd.read_csv(DATA / f"{name}.csv.gz", dtype=str, keep_default_na=False)
    y = frame.pop("label").astype(int).to_numpy()
    return train_test_split(frame, y, test_size=0.3, stratify=y, random_state=seed)


def load(name: str, seed: int):
    """Train and test tables (text columns) and the test labels."""
    X_train, X_test, _, y_test = split(name, seed)
    return X_train, X_test, y_test


def level_surprisals(X_train: pd.DataFrame, X: pd.DataFrame) -> np.ndarray:
    """``-log`` of each cell's add-one-smoothed level frequency in ``X_train``.

    Returns an array of shape (rows of ``X``, columns): AVF's terms, the cells'
    surprisals under the model of independent columns.
    """
    out = np.empty(X.shape)
    for j, column in enumerate(X_train.columns):
        counts = X_train[column].value_counts()
        n_levels = len(counts) + 1  # one more for levels first seen in test
        freq = X[column].map(counts).fillna(0).to_numpy(dtype=float)
        out[:, j] = -np.log((freq + 1) / (len(X_train) + n_levels))
    return out


def avf_scores(X_train: pd.DataFrame, X_test: pd.DataFrame) -> np.ndarray:
    """Sum over columns of -log of the smoothed train frequency of each level."""
    return level_surprisals(X_train, X_test).sum(axis=1)


def baseline_scores(detector: str, X_train, X_test, seed: int) -> np.ndarray:
    """Anomaly scores (higher = more anomalous) of a baseline on ``X_test``."""
    if detector == "AVF":
        return avf_scores(X_train, X_test)
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(X_train)
    A_train, A_test = onehot.transform(X_train), onehot.transform(X_test)
    if detector == "IsolationForest":
        return -IsolationForest(random_state=seed).fit(A_train).score_samples(A_test)
    from pyod.models.vae import VAE

    return VAE(random_state=seed, verbose=0).fit(A_train).decision_function(A_test)


def evaluate(
    name: str, seed: int, detectors: list[str], vae_params: dict, all_scores: bool
) -> list[dict]:
    """Fit each detector on one table and seed; return one row per score."""
    X_train, X_test, y_test = load(name, seed)
    rows = []
    for detector in detectors:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if detector == "vae":
                vae = VAEAnomalyDetector(random_state=seed, **vae_params).fit(X_train)
                seconds = time.perf_counter() - start
                methods = SCORE_METHODS if all_scores else (vae.score_method,)
                for method in methods:
                    scores = -vae.set_params(score_method=method).score_samples(X_test)
                    label = f"vae[{method}]" if all_scores else "vae"
                    rows.append(result_row(name, seed, label, y_test, scores, seconds))
                continue
            scores = baseline_scores(detector, X_train, X_test, seed)
            seconds = time.perf_counter() - start
        rows.append(result_row(name, seed, detector, y_test, scores, seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--datasets", nargs="*", default=None, help="table names (default: all)"
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
    add_report_arguments(parser)
    args = parser.parse_args()
    vae_params = parse_params(args.set)
    names = args.datasets or sorted(p.name.split(".")[0] for p in DATA.glob("*.csv.gz"))
    tasks = [
        (name, seed, args.detectors, vae_params, args.all_scores)
        for name in names
        for seed in args.seeds
    ]
    rows = run_tasks(evaluate, tasks, args.jobs)
    report(rows, names, args)


if __name__ == "__main__":
    main()
