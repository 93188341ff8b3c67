"""One table for the sensor detector: drift, faults, ranking, self-fit and blame.

Each row is measured by a harness of its own, here run with the defaults of
``SequenceVAEDetector`` (or with ``--sequence-set KEY=VALUE``) for each seed:

- fault-free alarms: the share of SKAB's fault-free recording flagged after
  training on its first 1,000 or 400 readings (``skab.fault_free_alarms``,
  window 5);
- valve1, SKAB protocol: F1, FAR and MAR with the model's own threshold
  (``skab.run``, window 5, first 400 rows of each file train);
- valve1 ranking: AUROC of the scores over all test rows (``skab.run``,
  window 10);
- blame: top-1 and the share of the blame on the channel a fault was
  injected into (``blame_injection.py``, window 5);
- self-fit: pooled recall and FAR of ``vaeanomaly detect FILE --window 10``
  on each valve1 file (``skab_selffit.py``; the command line's own seed, so
  run once).

Usage::

    python benchmarks/skab_summary.py --seeds 0 1 2 --json out.json
    python benchmarks/skab_summary.py --sequence-set level_window=None
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _evaluation import add_sequence_set_argument
from _provenance import write_result
from adbench import parse_params
from blame_injection import injections, summarise
from skab import fault_free_alarms, run
from skab_selffit import selffit

from vaeanomaly.sequence import SequenceVAEDetector


def measure(seed: int, sequence_params: dict) -> dict[str, float]:
    """Every figure of the table but the self-fit, for one seed."""
    ar_order = SequenceVAEDetector().set_params(**sequence_params).ar_order
    calibration = SequenceVAEDetector().calibration_fraction
    protocol = run(5, ar_order, calibration, "last", None, {}, seed, 0, sequence_params)
    ranking = run(10, ar_order, calibration, "last", None, {}, seed, 0, sequence_params)
    blame = summarise(injections(5, seed, sequence_params))
    steps = [r for k, r in blame.items() if k.startswith("step")]
    return {
        "fault-free alarms % (train 1,000)": fault_free_alarms(
            1000, 5, seed, sequence_params=sequence_params
        ),
        "fault-free alarms % (train 400)": fault_free_alarms(
            400, 5, seed, sequence_params=sequence_params
        ),
        "valve1 F1 (window 5)": protocol["F1"],
        "valve1 FAR % (window 5)": protocol["FAR%"],
        "valve1 MAR % (window 5)": protocol["MAR%"],
        "valve1 AUROC (window 10)": ranking["AUROC"],
        "blame top-1 %, steps": 100 * np.mean([r["top1"] for r in steps]),
        "blame share %, steps": 100 * np.mean([r["share"] for r in steps]),
        "blame share of what the fault adds %, steps": 100
        * np.mean([r["added_share"] for r in steps]),
        "blame top-1 %, all four kinds": 100 * blame["all"]["top1"],
        "blame share %, all four kinds": 100 * blame["all"]["share"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    add_sequence_set_argument(parser)
    parser.add_argument("--no-selffit", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sequence_params = parse_params(args.sequence_set)
    per_seed = []
    for seed in args.seeds:
        per_seed.append(measure(seed, sequence_params))
        print(f"seed {seed}: {per_seed[-1]}", flush=True)
    table = {key: float(np.mean([m[key] for m in per_seed])) for key in per_seed[0]}
    if not args.no_selffit:
        pooled = selffit(list(range(16)), [])["pooled"]
        table["self-fit recall (detect --window 10)"] = pooled["recall"]
        table["self-fit FAR % (detect --window 10)"] = pooled["FAR%"]
    print(f"\nseeds {args.seeds}; sequence: {sequence_params or 'defaults'}\n")
    print("| what | value |\n|---|---|")
    for key, value in table.items():
        print(f"| {key} | {value:.3f} |" if value < 2 else f"| {key} | {value:.1f} |")
    if args.json is not None:
        write_result(
            args.json,
            {"table": table, "per_seed": per_seed},
            seeds=args.seeds,
            sequence_parameters=sequence_params,
        )


if __name__ == "__main__":
    main()
