"""Does the blame name the channel that broke, and only it? Faults injected into valve1.

For each valve1 file: a ``SequenceVAEDetector(window)`` learns the first 400
rows (standardized on them, as in ``skab.py``). Then, for each channel and
each kind of fault, the fault is added to that channel alone over 30 normal
readings after the training rows (rows 450-479, before any labelled fault),
the whole file is scored with ``score_features`` and the blame of each
channel is summed over the 30 readings. Kinds (in training standard
deviations): ``step+`` and ``step-`` (+-4 for all 30 readings), ``spike``
(+8 at the 15th reading only) and ``ramp`` (0 to +4 over the 30 readings:
a drift far faster than the sequence detector's drift timescale).

Per kind and pooled over all files, channels and kinds:

- ``top1``: share of injections whose largest blame is the injected channel;
- ``share``: the injected channel's blame over the sum of the positive blames
  of all channels (0 when its own is not positive), averaged over injections;
- ``added_share``: the same for the blame the fault adds, each channel's
  blame minus its blame over the same 30 readings without the fault: how much
  of what the fault changed lands on the channel that broke.

Usage::

    python benchmarks/blame_injection.py
    python benchmarks/blame_injection.py --seeds 0 1 2 --json out.json
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from _evaluation import add_sequence_set_argument
from _provenance import write_result
from adbench import parse_params
from skab import N_TRAIN, recordings, standardized

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.sequence import SequenceVAEDetector

START, LENGTH = 450, 30
RAMP = np.linspace(0.0, 4.0, LENGTH)
SPIKE = np.where(np.arange(LENGTH) == LENGTH // 2, 8.0, 0.0)
FAULTS = {
    "step+": np.full(LENGTH, 4.0),
    "step-": np.full(LENGTH, -4.0),
    "spike": SPIKE,
    "ramp": RAMP,
}


def injections(window: int, seed: int, sequence_params: dict) -> list[dict]:
    """One record per file, channel and fault kind: top-1 hit and blame share."""
    records = []
    for name, frame, _ in recordings():
        scaled = standardized(frame, N_TRAIN)
        detector = SequenceVAEDetector(
            window=window, detector=VAEAnomalyDetector(random_state=seed)
        ).set_params(**sequence_params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            detector.fit(scaled.iloc[:N_TRAIN])
        # Only the first START + LENGTH rows matter: blame is causal.
        part = scaled.iloc[: START + LENGTH]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            usual = detector.score_features(part).iloc[START:].sum()
        for j, channel in enumerate(part.columns):
            for kind, fault in FAULTS.items():
                broken = part.copy()
                broken.iloc[START:, j] += fault
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    blame = detector.score_features(broken).iloc[START:].sum()
                positive = blame.clip(lower=0).sum()
                own = max(float(blame.iloc[j]), 0.0)
                added = (blame - usual).clip(lower=0)
                records.append(
                    {
                        "file": name,
                        "channel": channel,
                        "kind": kind,
                        "top1": bool(blame.idxmax() == channel),
                        "share": own / positive if positive > 0 else 0.0,
                        "added_share": float(added.iloc[j] / added.sum())
                        if added.sum() > 0
                        else 0.0,
                    }
                )
    return records


def summarise(records: list[dict]) -> dict[str, dict[str, float]]:
    """Mean top-1 and share per fault kind, and over all injections."""
    out = {}
    for kind in [*FAULTS, "all"]:
        chosen = [r for r in records if kind in ("all", r["kind"])]
        out[kind] = {
            "top1": float(np.mean([r["top1"] for r in chosen])),
            "share": float(np.mean([r["share"] for r in chosen])),
            "added_share": float(np.mean([r["added_share"] for r in chosen])),
            "n": len(chosen),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    add_sequence_set_argument(parser)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sequence_params = parse_params(args.sequence_set)
    records = [
        r | {"seed": seed}
        for seed in args.seeds
        for r in injections(args.window, seed, sequence_params)
    ]
    summary = summarise(records)
    print(
        "| fault | injections | top-1 | share of the blame "
        "| share of the blame the fault adds |\n|---|---|---|---|---|"
    )
    for kind, row in summary.items():
        print(
            f"| {kind} | {row['n']} | {row['top1']:.1%} | {row['share']:.1%} "
            f"| {row['added_share']:.1%} |"
        )
    if args.json is not None:
        write_result(
            args.json,
            {"summary": summary, "injections": records},
            window=args.window,
            seeds=args.seeds,
            sequence_parameters=sequence_params,
        )


if __name__ == "__main__":
    main()
