"""Fit-time summary of a quality run: the speed goals read from result rows.

A quality benchmark's rows carry each fit's wall time (``fit_s``). Fit times
are only comparable within one run on one machine, so the summary gives
ratios: to a baseline fitted in the same run (IsolationForest by default),
and, per set, to a reference run when one is given (run it on the same
machine, with ``--jobs 1``, for times that mean anything).
"""

from __future__ import annotations

import numpy as np


def _seconds(rows: list[dict], detector: str) -> dict[str, float]:
    """Mean fit seconds over seeds, per dataset."""
    values: dict[str, list[float]] = {}
    for r in rows:
        if r["detector"] == detector:
            values.setdefault(r["dataset"], []).append(r["fit_s"])
    return {name: float(np.mean(v)) for name, v in values.items()}


def print_fit_times(
    rows: list[dict],
    names: list[str],
    detector: str = "vae",
    baseline: str = "IsolationForest",
    reference: list[dict] | None = None,
) -> None:
    """Print per-set fit seconds, their median and maximum, and time ratios.

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
    ours = _seconds(rows, detector)
    if not ours:
        return
    base = _seconds(rows, baseline)
    before = _seconds(reference, detector) if reference else {}
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
