"""The wide-table goal table, from a run of the embedding collection.

Reads the result file of::

    PYTHONPATH=benchmarks python benchmarks/adbench.py --collection embeddings \\
        --detectors vae IsolationForest PCA kNN --seeds 0 1 2 --jobs 2 \\
        --json benchmarks/results/adbench_embeddings.json

(every detector in one run, so the fit-time ratios are measured side by side)
and prints, for the six 512-column ResNet-18 tables and the 768-column BERT
table: median VAE fit time and its ratio to PCA's, mean AUROC of each
detector, and the BERT table's AUROC and fit time. With ``--before``, a
second such file (an earlier version's) gets a column of its own.

With ``--held NOW BEFORE`` (repeatable), two runs of the same collection
(the 23 ADBench sets, the categorical tables) are compared on the sets both
hold: mean AUROC and AP, sets won and lost, and median fit time, the rows of
the goal "held, and not slower".

Usage::

    python benchmarks/wide_summary.py benchmarks/results/adbench_embeddings.json \\
        --before benchmarks/results/adbench_embeddings_v0.4.json \\
        --held benchmarks/results/adbench.json \\
            benchmarks/results/adbench_9ad6e0a.json \\
        --held benchmarks/results/categorical.json \\
            benchmarks/results/categorical_9ad6e0a.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _evaluation import _per_set, won_lost  # benchmarks/ is on sys.path

#: The 768-column text table; the others are the 512-column image tables.
TEXT_TABLE = "bert_20news_3"
BASELINES = ("kNN", "PCA", "IsolationForest")


def summarise(rows: list[dict]) -> dict:
    """Return the goal figures of one run's result rows."""

    def pick(detector: str, image: bool) -> list[dict]:
        return [
            r
            for r in rows
            if r["detector"] == detector and (r["dataset"] != TEXT_TABLE) == image
        ]

    def mean_auroc(detector: str, image: bool = True) -> float:
        return float(np.mean([r["auroc"] for r in pick(detector, image)]))

    def median_fit(detector: str, image: bool = True) -> float:
        return float(np.median([r["fit_s"] for r in pick(detector, image)]))

    out = {
        "image_fit_s": median_fit("vae"),
        "image_fit_vs_pca": median_fit("vae") / median_fit("PCA"),
        "image_auroc": mean_auroc("vae"),
        "text_auroc": mean_auroc("vae", image=False),
        "text_fit_s": median_fit("vae", image=False),
    }
    for name in BASELINES:
        out[f"image_auroc_{name}"] = mean_auroc(name)
        out[f"text_auroc_{name}"] = mean_auroc(name, image=False)
    out["seeds"] = sorted({r["seed"] for r in rows})
    return out


def held(now: list[dict], before: list[dict]) -> dict:
    """Compare two runs of one collection on the sets both hold (the VAE's rows)."""
    out: dict = {}
    for metric in ("auroc", "ap"):
        a, b = _per_set(now, "vae", metric), _per_set(before, "vae", metric)
        shared = sorted(set(a) & set(b))
        out[f"{metric}_now"] = float(np.mean([a[n] for n in shared]))
        out[f"{metric}_before"] = float(np.mean([b[n] for n in shared]))
        out[f"{metric}_won_lost"] = won_lost({n: a[n] - b[n] for n in shared})
    fit_now, fit_before = (
        _per_set(now, "vae", "fit_s"),
        _per_set(before, "vae", "fit_s"),
    )
    out["sets"] = shared
    out["fit_now"] = float(np.median([fit_now[n] for n in shared]))
    out["fit_before"] = float(np.median([fit_before[n] for n in shared]))
    return out


def _rows(path: Path) -> list[dict]:
    data = json.loads(path.read_text())
    return data["rows"] if isinstance(data, dict) else data


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("result", type=Path, help="adbench.py --json file")
    parser.add_argument("--before", type=Path, default=None, help="an earlier one")
    parser.add_argument(
        "--held",
        nargs=2,
        type=Path,
        action="append",
        default=[],
        metavar=("NOW", "BEFORE"),
        help="two runs of another collection to compare (repeatable)",
    )
    args = parser.parse_args()
    now = summarise(_rows(args.result))
    runs = {"now": now}
    if args.before is not None:
        runs = {"before": summarise(_rows(args.before)), "now": now}
    lines = [
        ("VAE fit, six 512-column tables, median (s)", "image_fit_s", "{:.1f}"),
        ("  as a multiple of PCA's in the same run", "image_fit_vs_pca", "{:.1f}x"),
        ("VAE mean AUROC, six 512-column tables", "image_auroc", "{:.3f}"),
        ("  kNN", "image_auroc_kNN", "{:.3f}"),
        ("  PCA", "image_auroc_PCA", "{:.3f}"),
        ("  IsolationForest", "image_auroc_IsolationForest", "{:.3f}"),
        ("VAE AUROC, bert_20news_3 (768 columns)", "text_auroc", "{:.3f}"),
        ("  kNN", "text_auroc_kNN", "{:.3f}"),
        ("VAE fit, bert_20news_3 (s)", "text_fit_s", "{:.1f}"),
    ]
    print(f"seeds {now['seeds']}\n")
    print("| what | " + " | ".join(runs) + " |")
    print("|---" * (len(runs) + 1) + "|")
    for title, key, form in lines:
        print(
            f"| {title} | "
            + " | ".join(form.format(r[key]) for r in runs.values())
            + " |"
        )

    for now_file, before_file in args.held:
        h = held(_rows(now_file), _rows(before_file))
        print(
            f"\n{now_file.name} against {before_file.name}, "
            f"{len(h['sets'])} sets both hold:\n"
        )
        print("| what | before | now |\n|---|---|---|")
        for metric in ("auroc", "ap"):
            won, lost = h[f"{metric}_won_lost"]
            print(
                f"| mean {metric.upper()} (sets won / lost) | "
                f"{h[f'{metric}_before']:.3f} | {h[f'{metric}_now']:.3f} "
                f"({won} / {lost}) |"
            )
        print(f"| median fit (s) | {h['fit_before']:.2f} | {h['fit_now']:.2f} |")


if __name__ == "__main__":
    main()
