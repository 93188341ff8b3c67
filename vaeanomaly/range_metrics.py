"""Threshold-free measures for scores over time: AUC-PR and VUS-PR.

Point-wise measures treat each timestamp alone: a detector that fires a few
readings after an anomalous episode starts, or stays up a few readings after
it ends, is scored as if it had missed, or raised false alarms. Paparrizos et
al. (VLDB 2022, "Volume Under the Surface") widen each labelled episode by a
buffer whose labels fall off as a square root, reward detecting an episode at
all (its *existence*), and average the area under the resulting
precision-recall curve over buffer lengths 0..``max_buffer``: the VUS-PR of
the TSB-AD benchmark. Both functions take *anomaly* scores (higher = more
anomalous); pass ``-score_samples(X)``.

The curves use every distinct score as a threshold (TSB-AD samples 250 of
them), so the values are exact and the same on every run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["auc_pr", "range_auc_pr", "vus_pr"]


def _check(y_true: Any, anomaly_scores: Any) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(y_true, dtype=np.float64).ravel()
    scores = np.asarray(anomaly_scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise ValueError(
            f"y_true and anomaly_scores must have the same length; got "
            f"{len(labels)} labels and {len(scores)} scores."
        )
    if not np.isin(labels, (0.0, 1.0)).all() or labels.sum() == 0:
        raise ValueError(
            "y_true must hold 0 (normal) and 1 (anomaly), with at least one 1; got "
            f"values {np.unique(labels)[:10].tolist()}."
        )
    if not np.isfinite(scores).all():
        raise ValueError(
            f"anomaly_scores holds {int((~np.isfinite(scores)).sum())} non-finite "
            "value(s). Replace them before measuring."
        )
    return labels, scores


def _curve_points(
    weights: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At each distinct threshold (high to low): flagged count, weighted hits, cut.

    A timestamp is flagged at threshold t when its score is >= t.
    """
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    last_of_tie = np.r_[ranked[1:] != ranked[:-1], True]
    flagged = np.arange(1, len(scores) + 1)[last_of_tie]
    hits = np.cumsum(weights[order])[last_of_tie]
    return flagged, hits, ranked[last_of_tie]


def auc_pr(y_true: Any, anomaly_scores: Any) -> float:
    """Area under the point-wise precision-recall curve (average precision).

    Parameters
    ----------
    y_true : array-like of shape (n_times,)
        1 for an anomalous timestamp, 0 for a normal one.
    anomaly_scores : array-like of shape (n_times,)
        Higher = more anomalous.

    Returns
    -------
    float
        ``sum_k (R_k - R_{k-1}) P_k`` over the distinct thresholds, as
        scikit-learn's ``average_precision_score``.

    Examples
    --------
    >>> auc_pr([0, 1, 1, 0], [0.1, 0.9, 0.3, 0.5])
    0.8333333333333333
    """
    labels, scores = _check(y_true, anomaly_scores)
    flagged, hits, _ = _curve_points(labels, scores)
    recall = hits / labels.sum()
    precision = hits / flagged
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _episodes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last position of each run of non-zero labels."""
    edges = np.diff(np.r_[0, (labels > 0).astype(int), 0])
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


def _buffered(labels: np.ndarray, buffer: int) -> np.ndarray:
    """Labels widened by ``buffer // 2`` readings each side, falling off as a root.

    As in the reference implementation of Paparrizos et al.: a reading d
    steps before an episode gets ``sqrt(1 - d / buffer)``; after it, the
    slope starts at the episode's last reading, so it is one reading shorter.
    Overlapping slopes add up, and the sum is capped at 1.
    """
    if buffer <= 1:
        return labels.copy()
    cont = labels.copy()
    half, n = buffer // 2, len(labels)
    for start, end in zip(*_episodes(labels), strict=True):
        after = np.arange(end, min(end + half, n))
        cont[after] += np.sqrt(1 - (after - end) / buffer)
        before = np.arange(max(start - half, 0), start)
        cont[before] += np.sqrt(1 - (start - before) / buffer)
    return np.minimum(cont, 1.0)


def range_auc_pr(y_true: Any, anomaly_scores: Any, buffer: int) -> float:
    """Area under the range-based precision-recall curve for one buffer length.

    Parameters
    ----------
    y_true : array-like of shape (n_times,)
        1 for an anomalous timestamp, 0 for a normal one.
    anomaly_scores : array-like of shape (n_times,)
        Higher = more anomalous.
    buffer : int
        Readings of slope added around each labelled episode (half each side).

    Returns
    -------
    float
        With labels ``y`` widened to ``c`` (see the module docstring),
        ``P = (sum(y) + sum(c)) / 2``; at each threshold, ``TP = sum(c * flag)``,
        precision ``TP / sum(flag)``, and recall ``min(TP / P, 1)`` times the
        share of widened episodes with at least one flag. The area is the
        trapezoidal sum from (recall 0, precision 1).

    Examples
    --------
    >>> range_auc_pr([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2], buffer=0)
    1.0
    """
    labels, scores = _check(y_true, anomaly_scores)
    return _range_auc_pr(labels, scores, int(buffer))


def _range_auc_pr(labels: np.ndarray, scores: np.ndarray, buffer: int) -> float:
    cont = _buffered(labels, buffer)
    positives = (labels.sum() + cont.sum()) / 2
    flagged, hits, cuts = _curve_points(cont, scores)
    starts, ends = _episodes(cont)
    # An episode is found at every threshold up to its highest score.
    peaks = np.sort(
        [scores[s : e + 1].max() for s, e in zip(starts, ends, strict=True)]
    )
    found = len(peaks) - np.searchsorted(peaks, cuts, side="left")
    recall = np.minimum(hits / positives, 1.0) * found / len(peaks)
    precision = hits / flagged
    recall, precision = np.r_[0.0, recall], np.r_[1.0, precision]
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2))


def vus_pr(y_true: Any, anomaly_scores: Any, *, max_buffer: int = 100) -> float:
    """Volume under the range-based precision-recall surface (VUS-PR).

    Parameters
    ----------
    y_true : array-like of shape (n_times,)
        1 for an anomalous timestamp, 0 for a normal one.
    anomaly_scores : array-like of shape (n_times,)
        Higher = more anomalous.
    max_buffer : int, default=100
        Longest buffer; the volume is the mean of :func:`range_auc_pr` over
        buffers 0..``max_buffer`` (TSB-AD passes its sliding window, about a
        period of the series; 100 is its default).

    Returns
    -------
    float

    See Also
    --------
    range_auc_pr : One slice of the surface.

    Examples
    --------
    >>> vus_pr([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2], max_buffer=0)
    1.0
    """
    labels, scores = _check(y_true, anomaly_scores)
    if int(max_buffer) < 0:
        raise ValueError(f"max_buffer must be >= 0; got {max_buffer!r}.")
    areas = [_range_auc_pr(labels, scores, b) for b in range(int(max_buffer) + 1)]
    return float(np.mean(areas))
