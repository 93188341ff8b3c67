"""What `vaeanomaly evaluate` measures: ranking and flag quality against labels."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pandas as pd

from vaeanomaly.cli._columns import to_matrix
from vaeanomaly.cli._errors import CLIError


def check_labels(frame: pd.DataFrame, label_col: str, source: Path) -> None:
    """Refuse a label column that is absent or does not hold both 0 and 1."""
    if label_col not in frame.columns:
        raise CLIError(
            f"Label column '{label_col}' is not in '{source}', whose columns are "
            f"{list(frame.columns)}. Pass --label-col with one of them."
        )
    y = to_matrix(frame, [label_col], source)[:, 0]
    if not set(np.unique(y)) <= {0.0, 1.0} or len(np.unique(y)) < 2:
        raise CLIError(
            f"Column '{label_col}' must hold both 0 (normal) and 1 (anomaly); "
            f"it holds {[float(v) for v in np.unique(y)[:10]]}"
            f"{' and more' if len(np.unique(y)) > 10 else ''}."
        )


def metrics(
    y: np.ndarray, scores: np.ndarray, flags: np.ndarray, *, sequential: bool
) -> dict:
    """AUROC, AP, and precision, recall and F1 of the flags; VUS-PR for recordings.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        True labels, 1 for an anomaly.
    scores : ndarray of shape (n_samples,)
        Scores, higher = more normal.
    flags : ndarray of bool of shape (n_samples,)
        The detector's decisions.
    sequential : bool
        Add VUS-PR, the range-aware measure for rows in time order.

    Returns
    -------
    dict
    """
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    from vaeanomaly.range_metrics import vus_pr

    flags = np.asarray(flags).astype(int)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, flags, average="binary", zero_division=0
    )
    measured = {
        "rows": len(y),
        "anomalies": int(y.sum()),
        "flagged": int(flags.sum()),
        "auroc": roc_auc_score(y, -scores),
        "average_precision": average_precision_score(y, -scores),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }
    if sequential:
        measured["vus_pr"] = vus_pr(y, -scores)
    return measured


def print_metrics(measured: dict, *, as_json: bool) -> None:
    """Print the metrics on stdout: one per line, or one JSON object."""
    if as_json:
        click.echo(
            json.dumps(
                {
                    k: float(v) if isinstance(v, float | np.floating) else v
                    for k, v in measured.items()
                }
            )
        )
        return
    for key, value in measured.items():
        click.echo(
            f"{key:18s} {value:.4f}"
            if isinstance(value, float)
            else f"{key:18s} {value}"
        )
