"""One-step prediction errors of a linear autoregression over all channels.

Sensor channels often drift: a temperature that warms for an hour leaves the
range it had during training while nothing is wrong. A model of the readings
themselves calls that an anomaly. The *innovation* of a reading, what is left
of it after a prediction from the readings just before it, does not drift: a
slow warming is predicted from its own past, while a change that the past
does not announce (a valve closing, a flow rate that drops) still stands out,
and for as long as it lasts when the channel is noisy rather than smooth.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from vaeanomaly._compat import Interval, _fit_context, validate_data
from vaeanomaly._encoding import MAX_STANDARDIZED
from vaeanomaly._state import FittedStateMixin

__all__ = ["LinearInnovations"]


def recording_values(estimator: Any, X: Any, *, reset: bool) -> np.ndarray:
    """Validate ``X`` as a float64 recording; NaN is a missing reading.

    The checks of the recording transformers (``LinearInnovations``,
    :class:`~vaeanomaly.levels.LocalLevel`): ``fit`` (``reset=True``) needs
    two readings and records the channels, ``transform`` checks them.
    """
    return validate_data(
        estimator,
        X,
        dtype=np.float64,
        ensure_all_finite="allow-nan",
        ensure_min_samples=2 if reset else 0,
        reset=reset,
    )


class LinearInnovations(FittedStateMixin, TransformerMixin, BaseEstimator):
    """Replace each reading by its error of prediction from the readings before it.

    A ridge regression, fitted on a recording in time order, predicts every
    channel at time t from all channels at t-1, ..., t-``order`` (on
    standardized readings). ``transform`` returns the prediction errors, in
    units of each channel's training standard deviation, with the input's
    shape, index and column names.

    Parameters
    ----------
    order : int, default=4
        Number of past readings the prediction uses.
    alpha : float, default=1.0
        Ridge penalty; it keeps the prediction stable when channels are
        nearly collinear.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Channel means on the training recording.
    scale_ : ndarray of shape (n_channels,)
        Channel standard deviations (1 for a constant channel).
    coef_ : ndarray of shape (order * n_channels, n_channels)
        Weights of the past readings (lag 1 first) for each channel.
    intercept_ : ndarray of shape (n_channels,)
        Intercept of each channel's prediction.
    n_features_in_ : int
        Number of channels.

    Notes
    -----
    The first ``order`` readings have no full past: it is padded with the
    first reading, so every timestamp gets an error. A missing reading (NaN)
    gets a NaN error; in the past of later readings it stands as the last
    reading before it. Training uses the timestamps whose reading and past
    are complete.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(200.0)
    >>> drift = np.column_stack([t, np.sin(t)])  # a steady rise, a cycle
    >>> errors = LinearInnovations(order=2).fit_transform(drift)
    >>> bool(np.abs(errors[10:]).max() < 0.05)
    True
    """

    _parameter_constraints: dict = {
        "order": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, order: int = 4, *, alpha: float = 1.0) -> None:
        self.order = order
        self.alpha = alpha

    def _past(self, z: np.ndarray) -> np.ndarray:
        """Return readings t-1, ..., t-order side by side, the start padded with row 0.

        A missing reading stands in the past of later ones as the last reading
        before it (the channel mean, 0, when there is none).
        """
        z = pd.DataFrame(z).ffill().fillna(0.0).to_numpy()
        padded = np.concatenate([np.repeat(z[:1], self.order, axis=0), z])
        n = len(z)
        return np.concatenate(
            [
                padded[self.order - lag : self.order - lag + n]
                for lag in range(1, 1 + self.order)
            ],
            axis=1,
        )

    def _readings(self, X: Any, *, reset: bool) -> np.ndarray:
        return recording_values(self, X, reset=reset)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None) -> LinearInnovations:
        """Fit the prediction on a recording in time order.

        Parameters
        ----------
        X : array-like of shape (n_times, n_channels)
            Readings; NaN marks a missing one.
        y : None
            Ignored.

        Returns
        -------
        self : LinearInnovations
        """
        values = self._readings(X, reset=True)
        mean, scale = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        # A channel with no reading, or a constant one, passes through as is.
        self.mean_ = np.where(np.isfinite(mean), mean, 0.0)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        z = (values - self.mean_) / self.scale_
        observed = np.isfinite(z).all(axis=1)
        # A timestamp trains the prediction when it and its whole past are observed.
        complete = pd.Series(observed).rolling(self.order + 1).min().to_numpy() == 1
        if complete.sum() < 2:
            raise ValueError(
                f"LinearInnovations(order={self.order}) needs at least 2 timestamps "
                f"with a complete reading and {self.order} complete readings before "
                f"them; the recording has {int(complete.sum())}. Pass a longer "
                "recording or a smaller order."
            )
        past, target = self._past(z)[complete], z[complete]
        past_mean, target_mean = past.mean(axis=0), target.mean(axis=0)
        centered = past - past_mean
        gram = centered.T @ centered + self.alpha * np.eye(centered.shape[1])
        self.coef_ = np.linalg.solve(gram, centered.T @ (target - target_mean))
        self.intercept_ = target_mean - past_mean @ self.coef_
        return self

    def transform(self, X: Any) -> Any:
        """Return the prediction errors of a recording in time order.

        Parameters
        ----------
        X : array-like of shape (n_times, n_channels)
            Readings; the first ``order`` ones are predicted from a past padded
            with the first reading.

        Returns
        -------
        ndarray or DataFrame of shape (n_times, n_channels)
            Errors in training standard deviations; a DataFrame with ``X``'s
            index and columns for DataFrame input.
        """
        check_is_fitted(self)
        with np.errstate(over="ignore", invalid="ignore"):
            z = (self._readings(X, reset=False) - self.mean_) / self.scale_
        # A finite reading stays finite, however far out (a logger's 1e308).
        z = np.clip(z, -MAX_STANDARDIZED, MAX_STANDARDIZED)
        errors = z - (self._past(z) @ self.coef_ + self.intercept_)
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(errors, index=X.index, columns=X.columns)
        return errors
