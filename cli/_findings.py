"""What a `detect` run found, for the summary on stderr."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from vaeanomaly.sequence import flagged_periods


class Findings:
    """What a `detect` run found, for the summary on stderr.

    Keeps the ``top`` lowest-scoring rows seen (with their feature values, so
    memory stays bounded on any file size), then explains the flagged ones
    among them by the columns that contribute most to their anomaly score.
    For sequence models, the flagged timestamps are grouped into periods with
    :func:`vaeanomaly.flagged_periods` instead.
    """

    def __init__(self, detector: Any, index_col: str | None, top: int = 5) -> None:
        self.detector = detector
        facts = detector.describe()
        self.columns: list[str] = facts["columns"]
        self.sequential = facts["window"] is not None
        self.index_col = index_col
        self.top = top
        self._X: pd.DataFrame | None = None
        self._labels: list[str] = []
        self._scores = np.empty(0)
        self.periods: pd.DataFrame | None = None
        self.offset: float | None = None
        self._series: tuple[pd.DataFrame, Any] | None = None

    def hold(self, X: pd.DataFrame, frame: pd.DataFrame, scores: np.ndarray) -> None:
        """Keep what the summary needs; sequences wait for their flags."""
        if self.sequential:
            times = frame[self.index_col] if self.index_col else frame.index
            self._series = (X, times)
        else:
            self.add(X, frame, scores)

    def flag(self, flags: np.ndarray, offset: float) -> None:
        """Record the threshold, and the flags of a held sequence."""
        self.offset = offset
        if self._series is not None:
            self.add_periods(*self._series, flags)

    def add(self, X: pd.DataFrame, frame: pd.DataFrame, scores: np.ndarray) -> None:
        """Consider the rows of one chunk (``X`` and ``frame`` share the index)."""
        scores = np.asarray(scores, dtype=np.float64)
        if not len(scores):
            return
        k = min(self.top, len(scores))
        take = np.argsort(scores, kind="stable")[:k]
        if self.index_col:
            labels = [
                f"{self.index_col} {value}"
                for value in frame[self.index_col].iloc[take]
            ]
        else:
            labels = [f"data row {i}" for i in frame.index[take]]
        X_new = X.iloc[take]
        X_all = X_new if self._X is None else pd.concat([self._X, X_new])
        labels_all = self._labels + labels
        scores_all = np.concatenate([self._scores, scores[take]])
        keep = np.argsort(scores_all, kind="stable")[: self.top]
        self._X = X_all.iloc[keep]
        self._labels = [labels_all[i] for i in keep]
        self._scores = scores_all[keep]

    def add_periods(self, X: pd.DataFrame, times: pd.Series, flags: np.ndarray) -> None:
        """Group the flagged timestamps of a sequence model into periods."""
        flags = np.asarray(flags, dtype=bool)
        if not flags.any():
            self.periods = flagged_periods(flags)
            return
        blame = pd.DataFrame(np.asarray(self.detector.score_features(X)))
        blame.columns = self.columns
        series = pd.Series(flags, index=pd.Index(np.asarray(times)))
        self.periods = flagged_periods(series, blame, top=3)

    def lines(self) -> list[str]:
        """Lines for stderr: the flagged periods, or the most anomalous rows."""
        if self.periods is not None:
            return self._period_lines()
        if self.offset is None:
            return []
        flagged = self._scores < self.offset
        if self._X is None or not flagged.any():
            return []
        X = self._X.iloc[np.flatnonzero(flagged)]
        contributions = np.asarray(self.detector.score_features(X), dtype=np.float64)
        names = self.columns
        width = max(len(label) for label in self._labels)
        out = [
            "Most anomalous rows (score, then the columns adding most to the "
            "anomaly score -score, in nats):"
        ]
        for i, label in enumerate(np.asarray(self._labels)[flagged]):
            order = np.argsort(-np.nan_to_num(contributions[i], nan=-np.inf))[:3]
            top = ", ".join(f"{names[j]} {contributions[i, j]:.1f}" for j in order)
            out.append(
                f"  {label:<{width}}  score {self._scores[flagged][i]:.2f}; "
                f"top columns: {top}"
            )
        return out

    def _period_lines(self, shown: int = 5) -> list[str]:
        periods = self.periods
        if periods is None or periods.empty:
            return []
        out = [f"{len(periods):,} flagged period(s), longest first:"]
        longest = periods.sort_values("length", ascending=False, kind="stable")
        for _, row in longest.head(shown).iterrows():
            out.append(
                f"  {row['start']} to {row['end']} ({row['length']} rows); "
                f"top channels: {row['top_channels']}"
            )
        if len(periods) > shown:
            out.append(f"  ... and {len(periods) - shown:,} more.")
        return out
