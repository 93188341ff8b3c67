"""Each channel's reading against its own recent normal: a drift-tolerant input.

Real plants drift: a motor warms for an hour, a load changes, a sensor ages.
A model that learnt each channel's level from the start of a recording calls
every later reading of a drifted channel an anomaly, and one channel's drift
leaks through any cross-channel prediction into the errors of the others.
:class:`LocalLevel` removes the slow part before anything else sees it: each
reading becomes its distance from the channel's *local level*, the median of
the ``window`` readings before it, in units of their spread (1.4826 times
their median absolute deviation, never below the channel's training standard
deviation).

What counts as drift and what as a fault follows from ``window`` alone:

- a change spread over about ``window`` readings or more moves the level and
  the spread together, so it stays within a couple of spreads of the level
  however large it grows (drift);
- a change faster than that (a step, a spike, a ramp over a small part of the
  window) stands out by its size in units of the channel's usual spread
  (fault), and keeps standing out while it lasts, up to ``window / 2``
  readings: a median moves only once half of what it sees has changed, and
  readings far from the level (more than ``gate`` spreads) are left out of
  the level until they are ``window / 2`` readings old, so a fault cannot
  pull the level or inflate the spread towards itself while it is young.
  After that a new level is the new normal.

The level and spread are updated every ``window / 20`` readings, which keeps
the cost at about 20 medians per reading and channel whatever the window.
Until a recording has ``window / 4`` readings of history, its readings are
measured against the level and spread of the whole training recording: a few
readings tell too little about a channel's level (a cycle longer than they
are would look like drift of its own).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from vaeanomaly._compat import Interval, _fit_context
from vaeanomaly._encoding import MAX_STANDARDIZED
from vaeanomaly._state import FittedStateMixin
from vaeanomaly.innovations import recording_values

__all__ = ["LocalLevel"]

#: Updates of the level per ``window`` readings (the level holds for
#: ``window // UPDATES_PER_WINDOW`` readings between updates).
UPDATES_PER_WINDOW = 20

#: Share of ``window`` a recording's history must reach before its own level
#: replaces the training recording's.
MIN_HISTORY_FRACTION = 0.25

#: Factor that turns a median absolute deviation into a standard deviation
#: under a Gaussian.
_MAD_TO_SD = 1.4826


class LocalLevel(FittedStateMixin, TransformerMixin, BaseEstimator):
    """Replace each reading by its distance from the channel's recent level.

    ``transform`` returns, for each reading at time t, ``(x_t - level_t) /
    spread_t``, where ``level_t`` is the median and ``spread_t`` 1.4826 times
    the median absolute deviation of the channel's readings in the ``window``
    before t (see the module docstring for what that treats as drift), with
    ``spread_t`` at least the channel's training standard deviation
    (``scale_``), so a quiet or stepwise channel does not blow small changes
    up.

    Parameters
    ----------
    window : int, default=1000
        Readings the level looks back on: the drift timescale. A change that
        builds up over about this many readings is drift; a faster one is a
        fault for up to ``window / 2`` readings, after which its new level is
        normal.
    gate : float, default=4.0
        Readings more than ``gate`` spreads from the level do not count in
        later levels until they are ``window / 2`` readings old.

    Attributes
    ----------
    scale_ : ndarray of shape (n_channels,)
        Each channel's standard deviation on the training recording (1 for a
        constant channel): the smallest spread ``transform`` divides by.
    level_ : ndarray of shape (n_channels,)
        Median of each channel on the training recording: the level of the
        first ``window / 4`` readings of any recording.
    spread_ : ndarray of shape (n_channels,)
        Spread of each channel on the training recording, as ``transform``
        measures it (at least ``scale_``).
    n_features_in_ : int
        Number of channels.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Channel names, for DataFrame input.

    Notes
    -----
    The transform is causal (each reading is compared with readings before
    it), except that the first ``window / 4`` readings of a recording are
    compared with the training recording. Missing readings (NaN) stay
    missing and count in no level. Scoring a recording gives each reading
    the level of the history in that recording: score a stream with its
    past, not in pieces.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(3000.0)
    >>> drift = (t / 100 + rng.normal(size=3000))[:, None]  # 30 SD of drift
    >>> level = LocalLevel(window=500).fit(drift[:500])
    >>> bool(np.abs(level.transform(drift)).max() < 6)
    True
    >>> step = drift.copy()
    >>> step[2000:2100] += 8  # a fault: a step of 8 SD for 100 readings
    >>> bool(level.transform(step)[2000:2100].mean() > 4)
    True
    """

    _parameter_constraints: dict = {
        "window": [Interval(Integral, 2, None, closed="left")],
        "gate": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, window: int = 1000, *, gate: float = 4.0) -> None:
        self.window = window
        self.gate = gate

    def _readings(self, X: Any, *, reset: bool) -> np.ndarray:
        return recording_values(self, X, reset=reset)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> LocalLevel:
        """Learn each channel's smallest spread from a training recording.

        Parameters
        ----------
        X : array-like of shape (n_times, n_channels)
            Readings in time order; NaN marks a missing one.
        y : None
            Ignored.

        Returns
        -------
        self : LocalLevel
        """
        readings = self._readings(X, reset=True)
        scale = np.nanstd(readings, axis=0)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        self.level_, self.spread_ = self._level_and_spread(
            readings, np.zeros(len(self.scale_)), self.scale_.copy()
        )
        return self

    def transform(self, X: Any) -> Any:
        """Return each reading's distance from its channel's local level.

        Parameters
        ----------
        X : array-like of shape (n_times, n_channels)
            Readings in time order, from the start of the stretch to score.

        Returns
        -------
        ndarray or DataFrame of shape (n_times, n_channels)
            Distances in local spreads; a DataFrame with ``X``'s index and
            columns for DataFrame input.
        """
        check_is_fitted(self)
        readings = self._readings(X, reset=False)
        distances = self._distances(readings)
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(distances, index=X.index, columns=X.columns)
        return distances

    def _distances(self, readings: np.ndarray) -> np.ndarray:
        n = len(readings)
        block = max(1, self.window // UPDATES_PER_WINDOW)
        young = self.window // 2
        min_history = max(block, int(self.window * MIN_HISTORY_FRACTION))
        distances = np.full_like(readings, np.nan)
        level, spread = self.level_, self.spread_
        for start in range(0, n, block):
            stop = min(start + block, n)
            if start >= min_history:
                first = max(0, start - self.window)
                history = readings[first:start].copy()
                # Far readings that are still young would drag the level and
                # widen the spread towards a fault: leave them out for now.
                far = np.abs(distances[first:start]) > self.gate
                far[: max(0, start - young - first)] = False
                history[far] = np.nan
                level, spread = self._level_and_spread(history, level, spread)
            with np.errstate(over="ignore", invalid="ignore"):
                distances[start:stop] = (readings[start:stop] - level) / spread
        # A finite reading stays finite, however far out (a logger's 1e308).
        return np.clip(distances, -MAX_STANDARDIZED, MAX_STANDARDIZED)

    def _level_and_spread(
        self, history: np.ndarray, level: np.ndarray, spread: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Median and floored MAD spread of ``history``; the last ones where empty."""
        seen = ~np.isnan(history).all(axis=0)
        if not seen.any():
            return level, spread
        new_level, new_spread = level.copy(), spread.copy()
        observed = history[:, seen]
        median = np.nanmedian(observed, axis=0)
        mad = np.nanmedian(np.abs(observed - median), axis=0)
        new_level[seen] = median
        new_spread[seen] = np.maximum(_MAD_TO_SD * mad, self.scale_[seen])
        return new_level, new_spread

    def __sklearn_tags__(self):
        """Declare that NaN passes through as a missing reading."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
