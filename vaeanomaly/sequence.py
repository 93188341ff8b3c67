"""``SequenceVAEDetector``: per-timestamp anomaly scores for sensor recordings."""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin, clone
from sklearn.utils.validation import check_is_fitted

from vaeanomaly._compat import HasMethods, Interval, StrOptions, _fit_context
from vaeanomaly._detector import DetectorMixin
from vaeanomaly._schema import channel_frame, check_windows_observed
from vaeanomaly._state import FittedStateMixin
from vaeanomaly.estimator import VAEAnomalyDetector
from vaeanomaly.innovations import LinearInnovations
from vaeanomaly.levels import LocalLevel
from vaeanomaly.thresholds import fit_offset, make_threshold
from vaeanomaly.windows import SlidingWindows, fill_gaps

__all__ = [
    "BLAME_QUANTILE",
    "DRIFT_SD",
    "MIN_CALIBRATION",
    "DriftWarning",
    "WINDOW_LIKELIHOOD",
    "SequenceVAEDetector",
    "flagged_periods",
]

#: Fewest timestamps, held out and left to learn from, that
#: ``calibration_fraction`` needs; with fewer, the threshold comes from the
#: training scores.
MIN_CALIBRATION = 30

#: Distance outside a channel's training range, in its training standard
#: deviations, beyond which :meth:`SequenceVAEDetector.drift` reports it and
#: scoring warns: far enough that the readings are unlike anything the model
#: learnt, so its alarms there may mean a new regime rather than a fault. Set
#: from the distances seen on the SKAB recordings (benchmarks/README.md,
#: "Constants in the code").
DRIFT_SD = 10.0


class DriftWarning(UserWarning):
    """Scored readings left the training range of some channels by far.

    Alarms there may mark a new operating regime (a warmer plant, a
    recalibrated sensor) rather than a fault. ``report`` holds the
    :meth:`SequenceVAEDetector.drift` table: one row per channel.
    """

    def __init__(self, message: str, report: pd.DataFrame) -> None:
        super().__init__(message)
        self.report = report


#: Quantile of each channel's blame on normal readings (those ``offset_`` is
#: fitted on) that :meth:`SequenceVAEDetector.score_features` subtracts: a
#: channel's blame is positive only where it is more surprising than at 9 of
#: 10 normal timestamps, so channels that merely vary as usual do not share
#: the blame of a fault elsewhere (benchmarks/README.md, "Constants in the
#: code").
BLAME_QUANTILE = 0.9


#: Head that a window model with ``likelihood="auto"`` gets (the default
#: window model, the command line's ``--window`` models). Tables get a
#: Student-t by default, whose heavy tails discount one cell far out; in a
#: recording, a fault is often just that (one channel's prediction error far
#: out for a while), so windows keep the Gaussian, which ranked the SKAB
#: faults better (benchmarks/README.md, "Constants in the code").
WINDOW_LIKELIHOOD = "gaussian_column"


def _covering_mean(window_scores: np.ndarray, window: int) -> np.ndarray:
    """Mean, for each timestamp t, of the scores of windows ending at t..t+window-1."""
    n = len(window_scores)
    csum = np.concatenate([[0.0], np.cumsum(window_scores, axis=0)])
    stop = np.minimum(np.arange(n) + window, n)
    return (csum[stop] - csum[:n]) / (stop - np.arange(n))


def _covering_min(window_scores: np.ndarray, window: int) -> np.ndarray:
    """Lowest score among the windows ending at t..t+window-1."""
    n = len(window_scores)
    padded = np.concatenate([window_scores, np.full(window - 1, np.inf)])
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    return view[:n].min(axis=1)


class SequenceVAEDetector(DetectorMixin, FittedStateMixin, OutlierMixin, BaseEstimator):
    """Anomaly detector for multivariate sensor recordings.

    Each reading is first taken relative to its channel's recent normal
    level: its distance from the median of the ``level_window`` readings
    before it, in units of their spread (see
    :class:`~vaeanomaly.levels.LocalLevel`), so a channel that drifts slowly
    (a plant warming up, a load changing) stays normal, while a change faster
    than the window stands out for up to ``level_window / 2`` readings. That
    distance is then replaced by its error of prediction from the
    ``ar_order`` readings before it (see
    :class:`~vaeanomaly.innovations.LinearInnovations`). Each timestamp is then
    represented by the window of ``window`` such errors ending there (see
    :class:`~vaeanomaly.windows.SlidingWindows`); a
    :class:`~vaeanomaly.VAEAnomalyDetector` learns how normal windows look, and
    window scores are mapped back to one score per timestamp. The first
    timestamps get a past and windows padded with the first reading, so every
    timestamp has a score.

    Parameters
    ----------
    window : int, default=10
        Readings per window.
    level_window : int or None, default=1000
        The drift timescale, in readings: each channel is measured against
        the median of this many readings before it (see
        :class:`~vaeanomaly.levels.LocalLevel`). Changes that build up over
        about this many readings are normal change; a faster change is
        flagged while it lasts, up to ``level_window / 2`` readings, after
        which its level is the new normal. ``None`` keeps the training
        recording's levels for good: every reading of a channel that drifted
        is then compared with the start of the recording.
    ar_order : int, default=2
        Past readings of the linear prediction whose errors the windows hold.
        0 windows the readings (or their distances from the local level)
        themselves.
    aggregate : {"last", "mean", "min"}, default="last"
        Score of timestamp t: the score of the window ending at t (it reacts
        as soon as t arrives, so it suits streams), the mean over the windows
        that contain t, or the lowest of them.
    calibration_fraction : float, default=0.25
        Share of the training recording, at its end, whose scores set
        ``offset_``. A second detector with the same settings learns the
        recording without that end and scores it, so the threshold comes from
        readings no model has seen; the detector kept is fitted on the whole
        recording. Scores of training readings are optimistic, and later
        normal data spread wider, so a threshold from them flags too much.
        It costs a second fit on the shorter recording. 0, or fewer than
        ``MIN_CALIBRATION`` timestamps on either side, fits the threshold on
        the training scores instead.
    max_gap : int, default=5
        Missing readings are forward-filled over at most this many rows. The
        rest of a longer gap stays missing: the window model leaves those
        cells out of the likelihood (its ``missing="mask"``, the default), so
        a window with a gap is scored on the readings it has. With
        ``missing="error"`` a longer gap raises a ValueError.
    detector : VAEAnomalyDetector, default=None
        The window model (cloned in ``fit``); ``None`` uses the defaults. A
        window model with ``likelihood="auto"`` gets the head
        :data:`WINDOW_LIKELIHOOD` (Gaussian) for its measured columns.

    Attributes
    ----------
    level_ : LocalLevel or None
        The fitted local-level step (``None`` when ``level_window=None``).
    innovations_ : LinearInnovations or None
        The fitted prediction step (``None`` when ``ar_order=0``).
    windows_ : SlidingWindows
        The fitted windowing step.
    detector_ : VAEAnomalyDetector
        The fitted window model.
    offset_ : float
        Threshold on per-timestamp scores, with the window model's threshold
        method, from the held-out end of the training recording (see
        ``calibration_fraction``) or from all training timestamps.
    n_calibration_ : int
        Number of timestamps ``offset_`` was fitted on.
    channels_ : list of str
        Channel names.
    blame_baseline_ : ndarray of shape (n_channels,)
        The :data:`BLAME_QUANTILE` quantile of each channel's blame on the
        timestamps ``offset_`` was fitted on (readings the calibrating model
        did not learn, or the training timestamps), subtracted in
        :meth:`score_features`.
    channel_range_ : ndarray of shape (2, n_channels)
        Lowest and highest training reading of each channel.
    channel_scale_ : ndarray of shape (n_channels,)
        Standard deviation of each channel's training readings (1 when
        constant); :meth:`drift` measures distances outside the range in it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(600)
    >>> frame = pd.DataFrame({"a": np.sin(t / 10), "b": np.cos(t / 10)})
    >>> det = SequenceVAEDetector(window=5, detector=VAEAnomalyDetector(
    ...     max_epochs=20, random_state=0)).fit(frame)
    >>> det.score_samples(frame).shape
    (600,)
    """

    _parameter_constraints: dict = {
        "window": [Interval(Integral, 1, None, closed="left")],
        "level_window": [Interval(Integral, 2, None, closed="left"), None],
        "ar_order": [Interval(Integral, 0, None, closed="left")],
        "aggregate": [StrOptions({"last", "mean", "min"})],
        "calibration_fraction": [Interval(Real, 0, 1, closed="left")],
        "max_gap": [Interval(Integral, 0, None, closed="left")],
        "detector": [HasMethods(["fit", "score_samples", "score_features"]), None],
    }

    def __init__(
        self,
        window: int = 10,
        *,
        level_window: int | None = 1000,
        ar_order: int = 2,
        aggregate: str = "last",
        calibration_fraction: float = 0.25,
        max_gap: int = 5,
        detector: Any = None,
    ) -> None:
        self.window = window
        self.level_window = level_window
        self.ar_order = ar_order
        self.aggregate = aggregate
        self.calibration_fraction = calibration_fraction
        self.max_gap = max_gap
        self.detector = detector

    def _masks_gaps(self) -> bool:
        model = getattr(self, "detector_", None) or self.detector
        return model is None or model.get_params().get("missing") == "mask"

    def _frame(self, X: Any, channels: list[str] | None = None) -> pd.DataFrame:
        """Return ``X`` checked by the schema (:func:`channel_frame`), gaps filled."""
        frame = channel_frame(X, channels)
        return fill_gaps(frame, self.max_gap, keep_longer=self._masks_gaps())

    def _fitted_channels(self, X: Any) -> pd.DataFrame:
        """``X`` as a frame of the channels seen in fit, in their order."""
        check_is_fitted(self)
        return self._frame(X, self.channels_)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self, X: Any, y: Any = None, *, callback: Any = None
    ) -> SequenceVAEDetector:
        """Learn normal windows from a recording (mostly normal, in time order).

        Parameters
        ----------
        X : array-like of shape (n_times, n_channels)
            The recording.
        y : None
            Ignored.
        callback : callable, default=None
            Passed to the window model's ``fit`` (called after each epoch).

        Returns
        -------
        self : SequenceVAEDetector
        """
        frame = self._frame(X)
        windows = self._fit_steps(frame, callback)
        readings = frame.to_numpy(dtype=np.float64)
        self.channel_range_ = np.vstack(
            [np.nanmin(readings, axis=0), np.nanmax(readings, axis=0)]
        )
        scale = np.nanstd(readings, axis=0)
        self.channel_scale_ = np.where(scale > 0, scale, 1.0)
        n_held_out = int(len(frame) * self.calibration_fraction)
        if min(n_held_out, len(frame) - n_held_out) >= MIN_CALIBRATION:
            # Scores and blame of readings the models never saw: the same
            # steps learn the recording without its end and score that end
            # (its windows reach back into the part they learned, as in a
            # stream). Unseen readings are more surprising than learnt ones,
            # so the usual blame comes from them too.
            calibrator = clone(self)
            calibrator._fit_steps(frame.iloc[:-n_held_out])
            all_windows = calibrator._transform(frame)
            window_scores = calibrator.detector_.score_samples(all_windows)
            scores = calibrator._aggregate(window_scores)[-n_held_out:]
            usual = calibrator._channel_blame(all_windows.iloc[-n_held_out:])
        else:
            scores = self._aggregate(self.detector_.score_samples(windows))
            usual = self._channel_blame(windows)
        self.blame_baseline_ = np.nanquantile(usual, BLAME_QUANTILE, axis=0)
        self.n_calibration_ = len(scores)
        self.offset_ = fit_offset(make_threshold(self.detector_.threshold_), scores)
        return self

    def _fit_steps(self, frame: pd.DataFrame, callback: Any = None) -> pd.DataFrame:
        """Fit the prediction, windowing and window model; return the windows."""
        self.channels_ = [str(c) for c in frame.columns]
        self.level_ = (
            LocalLevel(self.level_window).fit(frame) if self.level_window else None
        )
        if self.level_ is not None:
            frame = self.level_.transform(frame)
        self.innovations_ = (
            LinearInnovations(self.ar_order).fit(frame) if self.ar_order else None
        )
        self.windows_ = SlidingWindows(self.window).fit(frame)
        windows = self._transform(frame, leveled=True)
        self.detector_ = clone(
            self.detector if self.detector is not None else VAEAnomalyDetector()
        )
        if getattr(self.detector_, "likelihood", None) == "auto":
            self.detector_.set_params(likelihood=WINDOW_LIKELIHOOD)
        self.detector_.fit(windows, callback=callback)
        return windows

    def _aggregate(self, window_scores: np.ndarray) -> np.ndarray:
        if self.aggregate == "mean":
            return _covering_mean(window_scores, self.window)
        if self.aggregate == "min":
            return _covering_min(window_scores, self.window)
        return window_scores

    def _windows(self, X: Any) -> pd.DataFrame:
        return self._transform(self._fitted_channels(X))

    def _transform(self, frame: pd.DataFrame, *, leveled: bool = False) -> pd.DataFrame:
        """Windows of ``frame``; refuse timestamps whose window holds no reading.

        ``leveled``: ``frame`` has been through the local-level step already.
        """
        if self.level_ is not None and not leveled:
            frame = self.level_.transform(frame)
        if self.innovations_ is not None:
            frame = self.innovations_.transform(frame)
        windows = self.windows_.transform(frame)
        check_windows_observed(windows, self.window)
        return windows

    def score_samples(self, X: Any) -> np.ndarray:
        """One score per timestamp; higher means more normal.

        Warns with a :class:`DriftWarning` when readings of ``X`` lie more
        than ``DRIFT_SD`` training standard deviations outside a channel's
        training range (see :meth:`drift`).

        Parameters
        ----------
        X : array-like of shape (n_times, n_channels)
            A recording in time order.

        Returns
        -------
        ndarray of shape (n_times,)
        """
        scores = self._aggregate(self.detector_.score_samples(self._windows(X)))
        self._warn_drift(X)
        return scores

    def drift(self, X: Any, *, n_sd: float = DRIFT_SD) -> pd.DataFrame:
        """Channels whose readings leave their training range by more than ``n_sd``.

        A reading's distance is how far it lies below the lowest or above the
        highest training reading of its channel, in the channel's training
        standard deviations (0 inside the range). The window model was never
        shown such readings: its alarms there say "new regime" as much as
        "fault".

        Parameters
        ----------
        X : array-like of shape (n_times, n_channels)
            A recording in time order.
        n_sd : float, default=DRIFT_SD
            Distance beyond which a reading counts as out of range.

        Returns
        -------
        pandas.DataFrame
            One row per drifting channel, farthest first: ``channel``,
            ``n_readings`` out of range, ``first`` and ``last`` of them (index
            labels of ``X``, or positions), and ``max_sd``, the farthest
            distance. Empty when nothing drifts.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> t = np.arange(400)
        >>> frame = pd.DataFrame({"a": np.sin(t / 5), "b": np.cos(t / 5)})
        >>> det = SequenceVAEDetector(window=3, detector=VAEAnomalyDetector(
        ...     max_epochs=2, random_state=0)).fit(frame)
        >>> frame.loc[300:, "b"] += 50
        >>> det.drift(frame)[["channel", "n_readings", "first", "last"]]
          channel  n_readings  first  last
        0       b         100    300   399
        """
        frame = self._fitted_channels(X)
        readings = frame.to_numpy(dtype=np.float64)
        low, high = self.channel_range_
        distance = np.maximum(low - readings, readings - high) / self.channel_scale_
        distance = np.where(np.isnan(distance), 0.0, np.maximum(distance, 0.0))
        rows = []
        for j, channel in enumerate(self.channels_):
            out = np.flatnonzero(distance[:, j] > n_sd)
            if len(out):
                rows.append(
                    {
                        "channel": channel,
                        "n_readings": len(out),
                        "first": frame.index[out[0]],
                        "last": frame.index[out[-1]],
                        "max_sd": float(distance[:, j].max()),
                    }
                )
        columns = ["channel", "n_readings", "first", "last", "max_sd"]
        report = pd.DataFrame(rows, columns=columns)
        return report.sort_values("max_sd", ascending=False, ignore_index=True)

    def _warn_drift(self, X: Any) -> None:
        if not hasattr(self, "channel_range_"):  # an older model file: no ranges
            return
        report = self.drift(X)
        if report.empty:
            return
        parts = [
            f"'{row.channel}' ({row.n_readings} readings, {row.first} to "
            f"{row.last}, up to {row.max_sd:.0f} SD)"
            for row in report.itertuples()
        ]
        warnings.warn(
            DriftWarning(
                f"Readings left the training range of {len(parts)} channel(s) by "
                f"more than {DRIFT_SD:g} training standard deviations: "
                f"{'; '.join(parts)}. Alarms there may mark a new operating regime "
                "rather than a fault; check those channels, or refit on a "
                "recording that covers their range.",
                report,
            ),
            stacklevel=3,
        )

    def score_features(self, X: Any) -> Any:
        """Blame per channel and timestamp: excess surprise over normal times.

        The contribution of every cell of the window ending at t is
        ``-E_q[log p(x | z)]`` for that cell (a prediction error of the
        channel's distance from its level when ``ar_order > 0``). A channel's
        blame is the sum over its ``window`` cells minus the
        :data:`BLAME_QUANTILE` (0.9) quantile of that sum on normal readings
        the model did not learn (``blame_baseline_``), so a channel that is
        always hard to predict is not blamed for it: 0 or below is usual (9
        normal timestamps in 10), and positive values mark the channels that
        deviate, in nats beyond their usual range.

        Parameters
        ----------
        X : array-like of shape (n_times, n_channels)
            A recording in time order.

        Returns
        -------
        ndarray or DataFrame of shape (n_times, n_channels)
            A DataFrame with ``X``'s index and the channel names for DataFrame
            input.
        """
        blame = self._channel_blame(self._windows(X)) - self.blame_baseline_
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(blame, index=X.index, columns=self.channels_)
        return blame

    def _row_model(self) -> VAEAnomalyDetector:
        return self.detector_

    def _input_columns(self) -> list[str]:
        return list(self.channels_)

    def _sequence_facts(self) -> dict[str, Any]:
        n_fit = self.detector_.n_samples_fit_
        level = getattr(self, "level_", None)
        return {
            "window": int(self.window),
            "level_window": None if level is None else int(level.window),
            "ar_order": int(self.ar_order),
            "n_calibration": int(getattr(self, "n_calibration_", n_fit)),
        }

    def _channel_blame(self, windows: Any) -> np.ndarray:
        """Each channel's summed cell contributions in each window."""
        cells = np.asarray(self.detector_.score_features(windows))
        cells = cells.reshape(len(cells), self.window, len(self.channels_))
        sums = np.nansum(cells, axis=1)
        sums[np.isnan(cells).all(axis=1)] = np.nan  # no reading of that channel
        return sums

    def _set_state(self, state: dict[str, Any]) -> None:
        """Take back a fitted state; a model saved before the local level had none.

        Such a model compared readings with the training levels: it keeps
        doing so, and says so in its parameters (``level_window=None``).
        """
        super()._set_state(state)
        if "level_" not in state:
            self.level_window = None
            self.level_ = None


def flagged_periods(
    flags: Any, blame: pd.DataFrame | None = None, *, top: int = 3
) -> pd.DataFrame:
    """Group consecutive flagged timestamps into periods, with the channels to blame.

    Parameters
    ----------
    flags : array-like of bool or pandas.Series of shape (n_times,)
        True where a timestamp is anomalous. A Series' index gives the times.
    blame : pandas.DataFrame of shape (n_times, n_channels), default=None
        Per-channel blame (e.g. ``SequenceVAEDetector.score_features``).
    top : int, default=3
        Channels to list per period, by blame summed over the period.

    Returns
    -------
    pandas.DataFrame
        One row per period: ``start``, ``end``, ``length`` and, with
        ``blame``, ``top_channels``.

    Examples
    --------
    >>> flagged_periods([False, True, True, False, True])
       start  end  length
    0      1    2       2
    1      4    4       1
    """
    flags_series = (
        flags
        if isinstance(flags, pd.Series)
        else pd.Series(np.asarray(flags, dtype=bool))
    )
    values = flags_series.to_numpy(dtype=bool)
    edges = np.diff(np.concatenate([[0], values.astype(int), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    rows = []
    for start, stop in zip(starts, stops, strict=True):
        row = {
            "start": flags_series.index[start],
            "end": flags_series.index[stop - 1],
            "length": int(stop - start),
        }
        if blame is not None:
            totals = blame.iloc[start:stop].sum(axis=0).sort_values(ascending=False)
            row["top_channels"] = ", ".join(map(str, totals.index[:top]))
        rows.append(row)
    columns = ["start", "end", "length"] + (
        ["top_channels"] if blame is not None else []
    )
    return pd.DataFrame(rows, columns=columns)
