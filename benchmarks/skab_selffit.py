"""The one-command sensor workflow on each SKAB valve1 file, as a user runs it.

For each file: ``vaeanomaly detect FILE --time-col datetime --window 10
--exclude anomaly,changepoint`` (no --model: the model is fitted on the file
itself, by default on its first third), then recall and FAR of the flags
against the file's ``anomaly`` column, over all its rows, per file and pooled
over the 16 files, beside AUROC, AUC-PR and VUS-PR of the scores. Extra
arguments after ``--`` go to the command (e.g. ``-- --train-rows 400``).

Usage::

    python benchmarks/skab_selffit.py
    python benchmarks/skab_selffit.py --files 0 5 -- --seed 1
    python benchmarks/skab_selffit.py --json benchmarks/results/skab_selffit.json
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
from _provenance import write_result
from sklearn.metrics import roc_auc_score

from vaeanomaly.range_metrics import vus_pr

DATA = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "skab" / "valve1"
)
COMMAND = [
    "--time-col",
    "datetime",
    "--window",
    "10",
    "--exclude",
    "anomaly,changepoint",
]


def selffit(files: list[int], extra: list[str], echo: bool = False) -> dict:
    """Run ``vaeanomaly detect`` on each file; per-file rows and the pooled figures.

    With ``echo``, print a table row per file as it finishes, and the
    command's messages for the first file.
    """
    rows = []
    tp = fp = n_pos = n_neg = 0
    for number in files:
        path = DATA / f"{number}.csv"
        done = subprocess.run(
            [sys.executable, "-m", "vaeanomaly", "detect", str(path), *COMMAND] + extra,
            capture_output=True,
            text=True,
            check=True,
        )
        out = pd.read_csv(io.StringIO(done.stdout), sep=None, engine="python")
        labels = out["anomaly"].to_numpy() == 1
        flags = out["is_anomaly"].to_numpy() == 1
        tp += int((flags & labels).sum())
        fp += int((flags & ~labels).sum())
        n_pos += int(labels.sum())
        n_neg += int((~labels).sum())
        anomaly_scores = -out["score"].to_numpy()
        row = {
            "file": number,
            "rows": len(out),
            "anomalies": int(labels.sum()),
            "flagged": int(flags.sum()),
            "recall": float((flags & labels).sum() / labels.sum()),
            "FAR%": float(100 * (flags & ~labels).sum() / (~labels).sum()),
            "AUROC": float(roc_auc_score(labels, anomaly_scores)),
            "VUS-PR": float(vus_pr(labels, anomaly_scores)),
        }
        rows.append(row)
        if echo:
            print(
                f"| {number} | {row['rows']} | {row['anomalies']} | {row['flagged']} "
                f"| {row['recall']:.2f} | {row['FAR%']:.1f} | {row['AUROC']:.3f} "
                f"| {row['VUS-PR']:.3f} |",
                flush=True,
            )
            if number == files[0]:
                print(done.stderr, file=sys.stderr)
    pooled = {"rows": n_pos + n_neg, "anomalies": n_pos, "flagged": tp + fp}
    pooled |= {"recall": tp / n_pos, "FAR%": 100 * fp / n_neg}
    return {"files": rows, "pooled": pooled}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", nargs="*", type=int, default=list(range(16)))
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the result rows here"
    )
    parser.add_argument("extra", nargs="*", help="arguments for `vaeanomaly detect`")
    args = parser.parse_args()
    print("| file | rows | anomalies | flagged | recall | FAR % | AUROC | VUS-PR |")
    print("|---|---|---|---|---|---|---|---|")
    result = selffit(args.files, args.extra, echo=True)
    pooled = result["pooled"]
    print(
        f"| pooled | {pooled['rows']} | {pooled['anomalies']} | {pooled['flagged']} "
        f"| {pooled['recall']:.2f} | {pooled['FAR%']:.1f} | – | – |"
    )
    if args.json:
        write_result(args.json, result, detect_arguments=[*COMMAND, *args.extra])


if __name__ == "__main__":
    main()
