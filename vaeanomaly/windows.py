"""Sensor data: sliding windows over multivariate time series.

:class:`SlidingWindows` turns an ``(n_times, n_channels)`` recording into one
row per window of ``window`` consecutive readings, so a tabular detector sees
how the channels move together over time. :class:`SequenceVAEDetector` pairs
it with :class:`~vaeanomaly.VAEAnomalyDetector` and maps window scores back to
one score per timestamp, plus a per-channel blame.

Conventions
-----------
- Windows count readings, not seconds. If the sampling rate varies, resample
  first (``frame.resample("1s").mean()``).
- The window of timestamp ``t`` is the ``window`` readings ending at ``t``.
  With ``pad="edge"`` (the default) the series is preceded by ``window - 1``
  copies of its first reading, so the first timestamps still get a window
  (and a score) instead of vanishing; ``pad=None`` drops them.
- Gaps: :class:`SlidingWindows` passes NaN into the windows. The sequence
  detector forward-fills NaN readings over at most ``max_gap`` readings (the
  last value is assumed to hold) and leaves the rest of a longer gap missing
  for the window model to mask; with ``missing="error"`` on that model, a
  longer gap raises a ValueError that says where it is.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from vaeanomaly._compat import Interval, StrOptions, _fit_context, validate_data
from vaeanomaly._state import FittedStateMixin
from vaeanomaly.exceptions import DataError

__all__ = ["SlidingWindows", "fill_gaps", "window_view"]


def window_view(X: np.ndarray, window: int, *, pad: str | None = "edge") -> np.ndarray:
    """Return the windows of ``X`` as an array of shape (n_windows, window, n_channels).

    Parameters
    ----------
    X : ndarray of shape (n_times, n_channels)
        A recording, oldest reading first.
    window : int
        Readings per window.
    pad : {"edge", None}, default="edge"
        ``"edge"`` repeats the first reading ``window - 1`` times in front so
        there is one window per timestamp; ``None`` gives ``n_times - window + 1``
        windows.

    Returns
    -------
    ndarray of shape (n_windows, window, n_channels)
        A read-only view when no padding is needed.

    Examples
    --------
    >>> import numpy as np
    >>> window_view(np.arange(4.0).reshape(4, 1), 2)[:, :, 0]
    array([[0., 0.],
           [0., 1.],
           [1., 2.],
           [2., 3.]])
    """
    if pad == "edge" and window > 1:
        X = np.concatenate([np.repeat(X[:1], window - 1, axis=0), X], axis=0)
    if X.shape[0] < window:
        raise ValueError(
            f"A series of {X.shape[0]} readings is shorter than window={window}. "
            "Use a smaller window, or pad='edge'."
        )
    view = np.lib.stride_tricks.sliding_window_view(X, window, axis=0)
    return np.moveaxis(view, -1, 1)


def fill_gaps(
    frame: pd.DataFrame, max_gap: int, *, keep_longer: bool = False
) -> pd.DataFrame:
    """Forward-fill NaN readings over at most ``max_gap`` consecutive rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Readings in time order.
    max_gap : int
        Longest run of missing readings to fill with the last value.
    keep_longer : bool, default=False
        Leave what is still missing as NaN (for a model that masks missing
        cells) instead of raising.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        If a gap is longer than ``max_gap`` or the series starts with one,
        unless ``keep_longer``.
    """
    filled = frame.ffill(limit=max_gap) if max_gap > 0 else frame
    still = filled.isna()
    if still.to_numpy().any() and not keep_longer:
        row, col = np.argwhere(still.to_numpy())[0]
        raise DataError(
            f"Channel '{frame.columns[col]}' has a gap of missing readings longer "
            f"than max_gap={max_gap} (or at the start), first unfilled at position "
            f"{row} (index {frame.index[row]!r}). Fill or drop it, or raise max_gap."
        )
    return filled


def _window_names(channels: list[str], window: int) -> list[str]:
    return [f"{ch}@t-{window - 1 - k}" for k in range(window) for ch in channels]


class SlidingWindows(FittedStateMixin, TransformerMixin, BaseEstimator):
    """Turn a recording into one row per window of consecutive readings.

    Parameters
    ----------
    window : int, default=10
        Readings per window.
    step : int, default=1
        Keep every ``step``-th window (counted back from the last reading).
    pad : {"edge", None}, default="edge"
        See :func:`window_view`: ``"edge"`` keeps one window per timestamp.

    Attributes
    ----------
    n_features_in_ : int
        Channels seen in ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Channel names, for DataFrame input.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [1.0, 2, 3], "b": [4.0, 5, 6]})
    >>> SlidingWindows(window=2).fit_transform(frame)
       a@t-1  b@t-1  a@t-0  b@t-0
    0    1.0    4.0    1.0    4.0
    1    1.0    4.0    2.0    5.0
    2    2.0    5.0    3.0    6.0
    """

    _parameter_constraints: dict = {
        "window": [Interval(Integral, 1, None, closed="left")],
        "step": [Interval(Integral, 1, None, closed="left")],
        "pad": [StrOptions({"edge"}), None],
    }

    def __init__(
        self, window: int = 10, *, step: int = 1, pad: str | None = "edge"
    ) -> None:
        self.window = window
        self.step = step
        self.pad = pad

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> SlidingWindows:
        """Record the channels.

        Parameters
        ----------
        X : array-like of shape (n_times, n_channels)
            A recording.
        y : None
            Ignored.

        Returns
        -------
        self : SlidingWindows
        """
        validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"
        )
        return self

    def _channels(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(c) for c in self.feature_names_in_]
        return [f"x{j}" for j in range(self.n_features_in_)]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names ``<channel>@t-<lag>``, oldest lag first.

        Parameters
        ----------
        input_features : None
            Ignored; the channels seen in ``fit`` are used.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self)
        return np.asarray(_window_names(self._channels(), self.window), dtype=object)

    def window_ends(self, n_times: int) -> np.ndarray:
        """Positions (0-based) of the reading that ends each window.

        Parameters
        ----------
        n_times : int
            Length of the series.

        Returns
        -------
        ndarray of int
        """
        first = 0 if self.pad == "edge" else self.window - 1
        ends = np.arange(first, n_times)
        return ends[(n_times - 1 - ends) % self.step == 0]

    def transform(self, X: Any) -> Any:
        """Return the windows as rows, ``window * n_channels`` columns each.

        Parameters
        ----------
        X : array-like of shape (n_times, n_channels)
            A recording in time order.

        Returns
        -------
        ndarray or DataFrame of shape (n_windows, window * n_channels)
            For DataFrame input, a DataFrame indexed by the time of each
            window's last reading.
        """
        check_is_fitted(self)
        index = X.index if isinstance(X, pd.DataFrame) else None
        values = validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
            reset=False,
        )
        views = window_view(values, self.window, pad=self.pad)
        ends = self.window_ends(values.shape[0])
        first = 0 if self.pad == "edge" else self.window - 1
        rows = views[ends - first].reshape(len(ends), -1)
        if index is None:
            return rows
        return pd.DataFrame(
            rows, index=index[ends], columns=self.get_feature_names_out()
        )

    def __sklearn_tags__(self):
        """Declare that NaN passes through, and the padding rule for sizes.

        Windows need at least ``window`` readings without padding; NaN goes
        into the windows, and the window model decides what it means.
        """
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
