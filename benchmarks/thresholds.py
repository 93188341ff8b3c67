"""F1 of the threshold methods on the ADBench datasets.

Not run in CI. For each dataset and seed it uses the split of
``benchmarks/adbench.py`` (``load``: at most 10,000 rows, stratified 70/30
train/test split, MinMax scaling fitted on the train part), fits
``VAEAnomalyDetector(random_state=seed)`` with its defaults on the unlabeled
train part (which contains anomalies) and computes the normality scores
(``score_samples``) of the train and test parts. Then, for each method:

- unlabelled methods of ``vaeanomaly.thresholds`` (contamination 0.05 and
  0.1, robust_z with z=3.5 (the estimator's default), iqr with k=1.5, pot
  with its defaults, fpr with alpha=0.05) are fitted on the TRAIN scores with
  ``fit_offset(make_threshold(name, **params), train_scores)``, and the test
  rows with ``test_score < offset`` are flagged. fpr assumes clean
  calibration scores; here the train part is not clean, so it flags more
  than 5% of the test rows. A method that raises (pot with fewer than 10
  peaks above its initial quantile on small train parts) is recorded as NaN
  and counted as a failure;
- reference rows that use labels: "true contamination" (contamination equal
  to the real anomaly rate of the train part, fitted on the train scores) and
  "best_f (labels, test)", ``BestFThreshold`` fitted on the test scores and
  labels: the best F1 that any threshold on these scores can reach;
- PyThresh's MAD, IQR, ZSCORE, KARCH, FILTER and DSN with their defaults, when
  ``pythresh`` is installed (``pip install pythresh``; skipped with a note
  otherwise). They take anomaly scores (here ``-score_samples``); each is
  fitted on the train anomaly scores, and its ``predict`` flags the test
  scores: PyThresh >= 1.0 min-max normalises new scores with the train
  minimum and maximum and compares them with the fitted ``thresh_``
  (flagged when >= ``thresh_``), so the threshold comes from the train part
  only, as for our methods.

On the test part it reports F1 (``sklearn.metrics.f1_score``, anomaly = 1),
precision, recall and the flagged fraction. Per dataset the values are
averaged over the seeds; the summary averages them over the datasets where the
method ran (a dataset counts as failed when any seed failed). "mean F1
(common)" averages over the datasets where every method ran, so rows are
comparable; "|flagged - true|" is the mean absolute gap, in percentage
points, between the flagged fraction and the true anomaly rate of the test
part, a measure of how predictable the flagged fraction is.

Usage::

    python benchmarks/thresholds.py                      # ten datasets, seed 0
    python benchmarks/thresholds.py --seeds 0 1 2
    python benchmarks/thresholds.py --datasets 6_cardio 29_Pima --set n_draws=32
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _provenance import write_result
from adbench import DATA, add_set_argument, load, parse_params

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.thresholds import BestFThreshold, fit_offset, make_threshold

# (row name, THRESHOLDS key, parameters), fitted on the train scores.
UNLABELLED = [
    ("contamination=0.05", "contamination", {"contamination": 0.05}),
    ("contamination=0.1", "contamination", {"contamination": 0.1}),
    ("robust_z z=3.5 (default)", "robust_z", {"z": 3.5}),
    ("iqr k=1.5", "iqr", {"k": 1.5}),
    ("pot (defaults)", "pot", {}),
    ("fpr alpha=0.05 (train not clean)", "fpr", {"alpha": 0.05}),
]
TRUE_CONTAMINATION = "true contamination (labels)"
ORACLE = "best_f (labels, test)"
PYTHRESH = {
    "mad": "MAD",
    "iqr": "IQR",
    "zscore": "ZSCORE",
    "karch": "KARCH",
    "filter": "FILTER",
    "dsn": "DSN",
}


def train_labels(name: str, seed: int, n_train: int, y_test: np.ndarray):
    """Labels of the train part of ``load(name, seed)``, by redoing its split.

    ``load`` returns no train labels; the split indices depend only on the
    labels, the sizes and the seed, so splitting the row indices the same way
    gives them. The test labels are checked against ``load``'s.
    """
    y = np.load(DATA / f"{name}.npz", allow_pickle=False)["y"].astype(int)
    idx = np.arange(len(y))
    if len(y) > 10_000:
        idx, _, y, _ = train_test_split(
            idx, y, train_size=10_000, stratify=y, random_state=seed
        )
    _, _, y_train, y_test_again = train_test_split(
        idx, y, test_size=0.3, stratify=y, random_state=seed
    )
    if len(y_train) != n_train or not np.array_equal(y_test_again, y_test):
        raise RuntimeError(f"could not recover the train labels of {name}")
    return y_train


def pythresh_methods():
    """Return {row name: class} for the PyThresh methods, or None."""
    try:
        import pythresh
    except ImportError:
        return None
    methods = {}
    for module, cls in PYTHRESH.items():
        mod = importlib.import_module(f"pythresh.thresholds.{module}")
        methods[f"pythresh {cls}"] = getattr(mod, cls)
    print(f"pythresh {pythresh.__version__}: {', '.join(methods)}", flush=True)
    return methods


def pythresh_flags(cls, train_anomaly, test_anomaly):
    """Fit a PyThresh method on the train anomaly scores; flag the test ones."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        method = cls().fit(train_anomaly)
        if method.thresh_ is None:  # predict would refit on the test scores
            raise ValueError(f"{cls.__name__} has no thresh_ after fit")
        if not np.array_equal(method.predict(train_anomaly), method.labels_):
            raise ValueError(f"{cls.__name__}.predict disagrees with its labels_")
        return method.predict(test_anomaly).astype(bool)


def evaluate(flags, y_test):
    flags = np.asarray(flags, dtype=int)
    return {
        "f1": f1_score(y_test, flags, zero_division=0.0),
        "precision": precision_score(y_test, flags, zero_division=0.0),
        "recall": recall_score(y_test, flags, zero_division=0.0),
        "flagged": flags.mean(),
    }


def run_one(name, seed, vae_params, pythresh):
    """Yield result rows (dicts) for one dataset and seed."""
    X_train, X_test, y_test = load(name, seed)
    y_train = train_labels(name, seed, len(X_train), y_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = VAEAnomalyDetector(random_state=seed, **vae_params).fit(X_train)
    train_scores = vae.score_samples(X_train)
    test_scores = vae.score_samples(X_test)
    base = {"dataset": name, "seed": seed, "true": y_test.mean()}
    methods = [(row, key, params) for row, key, params in UNLABELLED]
    methods.append(
        (TRUE_CONTAMINATION, "contamination", {"contamination": y_train.mean()})
    )
    for row, key, params in methods:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                offset = fit_offset(make_threshold(key, **params), train_scores)
        except ValueError as exc:
            yield {**base, "method": row, "error": str(exc).split(". ")[0]}
            continue
        yield {**base, "method": row, **evaluate(test_scores < offset, y_test)}
    oracle = BestFThreshold().fit(test_scores, y_test)
    yield {**base, "method": ORACLE, **evaluate(oracle.predict(test_scores), y_test)}
    for row, cls in (pythresh or {}).items():
        try:
            flags = pythresh_flags(cls, -train_scores, -test_scores)
        except Exception as exc:  # any failure of the third-party method
            yield {**base, "method": row, "error": f"{type(exc).__name__}: {exc}"}
            continue
        yield {**base, "method": row, **evaluate(flags, y_test)}


def summarize(rows, names):
    methods = list(dict.fromkeys(r["method"] for r in rows))
    # per (method, dataset): mean over seeds, NaN when any seed failed
    cell = {}
    for m in methods:
        for d in names:
            rs = [r for r in rows if r["method"] == m and r["dataset"] == d]
            failed = any("error" in r for r in rs)
            cell[m, d] = {
                k: np.nan if failed else np.mean([r[k] for r in rs])
                for k in ("f1", "precision", "recall", "flagged", "true")
            }
            cell[m, d]["true"] = np.mean([r["true"] for r in rs])
    common = [d for d in names if all(np.isfinite(cell[m, d]["f1"]) for m in methods)]
    print(
        f"\n### Threshold methods, mean over {len(names)} datasets "
        f"(mean F1 (common): the {len(common)} datasets where every method ran)\n"
    )
    print(
        "| method | mean F1 | mean F1 (common) | precision | recall | flagged % "
        "| flagged % min-max | \\|flagged - true\\| pp | failed |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for m in methods:
        ok = [d for d in names if np.isfinite(cell[m, d]["f1"])]

        def mean(key, ds=ok, m=m):
            return np.mean([cell[m, d][key] for d in ds]) if ds else np.nan

        flagged = [100 * cell[m, d]["flagged"] for d in ok]
        gap = [100 * abs(cell[m, d]["flagged"] - cell[m, d]["true"]) for d in ok]
        gap = np.mean(gap) if ok else np.nan
        spread = f"{min(flagged):.1f}-{max(flagged):.1f}" if ok else "-"
        print(
            f"| {m} | {mean('f1'):.3f} | {mean('f1', common):.3f} "
            f"| {mean('precision'):.3f} | {mean('recall'):.3f} "
            f"| {100 * mean('flagged'):.1f} | {spread} | {gap:.1f} "
            f"| {len(names) - len(ok)} |"
        )
    print("\n### F1 per dataset (NaN: the method failed)\n")
    print("| dataset | true % | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 2) + "|")
    for d in names:
        true = 100 * cell[methods[0], d]["true"]
        cells = " | ".join(f"{cell[m, d]['f1']:.3f}" for m in methods)
        print(f"| {d} | {true:.1f} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--datasets", nargs="*", default=None, help="dataset names (default: all)"
    )
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    add_set_argument(parser)
    parser.add_argument(
        "--no-pythresh", action="store_true", help="skip PyThresh's methods"
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="also write raw results here"
    )
    args = parser.parse_args()
    vae_params = parse_params(args.set)
    pythresh = None if args.no_pythresh else pythresh_methods()
    if pythresh is None:
        why = "--no-pythresh" if args.no_pythresh else "pythresh is not installed"
        print(f"PyThresh methods skipped ({why}; pip install pythresh to add them)")
    names = args.datasets or sorted(p.stem for p in DATA.glob("*.npz"))
    rows = []
    start = time.perf_counter()
    for name in names:
        for seed in args.seeds:
            t0 = time.perf_counter()
            rows.extend(run_one(name, seed, vae_params, pythresh))
            print(
                f"done {name} seed {seed} ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
    if args.json:
        write_result(
            args.json,
            rows,
            parameters=vae_params,
            seeds=args.seeds,
            datasets=names,
        )
    print(f"\nVAE parameters: {vae_params or 'defaults'}; seeds {args.seeds}")
    failures = [r for r in rows if "error" in r]
    for r in failures:
        print(f"failed: {r['method']} on {r['dataset']} seed {r['seed']}: {r['error']}")
    summarize(rows, names)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
