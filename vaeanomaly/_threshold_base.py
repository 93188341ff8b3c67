"""Shared parts of the threshold methods: input checks and the base class.

The public interface is :mod:`vaeanomaly.thresholds`; this module holds what
every method uses, so the methods can live in modules of their own.
"""

import numbers
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator

from vaeanomaly._compat import Interval, StrOptions
from vaeanomaly._state import FittedStateMixin

_ORIENTATIONS = ("normality", "anomaly")
_T = TypeVar("_T", bound="BaseThreshold")
_MIN_PEAKS = 10
_MAD_TO_STD = 1.4826  # 1 / Phi^-1(3/4): MAD -> standard deviation for normal data
_MEAN_AD_TO_STD = 1.2533  # sqrt(pi / 2): mean absolute deviation -> std


# ---------------------------------------------------------------- validation
def _check_scores(scores: ArrayLike, name: str = "scores") -> np.ndarray:
    """Return ``scores`` as a finite float64 array of shape (n,), or raise."""
    if scores is None:
        raise TypeError(f"{name} must be an array of numbers; got None.")
    arr = np.asarray(scores)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must contain only numbers; got an object array such as "
                f"{arr.ravel()[:3].tolist()!r}. Convert it to a float array first."
            ) from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must be a numeric array; got dtype {str(arr.dtype)!r}. Pass the "
            "continuous scores (not labels, flags or strings)."
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must have shape (n,) or (n, 1), one score per sample; got shape "
            f"{arr.shape!r}. Pass a 1-D array, e.g. one column of a 2-D array."
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty; got shape (0,). Pass at least one score.")
    arr = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(
            f"{name} must be finite; got {bad.size} NaN or inf value(s), the first "
            f"{float(arr[bad[0]])!r} at index {bad[0]}. Remove or impute them before "
            "thresholding."
        )
    return arr


def _check_orientation(orientation: Any) -> str:
    if not isinstance(orientation, str) or orientation not in _ORIENTATIONS:
        raise ValueError(
            f"orientation must be 'normality' (higher score = more normal, e.g. "
            f"score_samples) or 'anomaly' (higher score = more anomalous); got "
            f"{orientation!r}. Pass the one that matches your scores."
        )
    return orientation


def _constraints(**params: list) -> dict:
    """``_parameter_constraints`` of a method: ``orientation`` plus ``params``."""
    return {"orientation": [StrOptions(set(_ORIENTATIONS))], **params}


def _fraction(closed: str = "neither", high: float = 1.0) -> Interval:
    return Interval(numbers.Real, 0, high, closed=closed)


def _positive(closed: str = "neither") -> Interval:
    return Interval(numbers.Real, 0, None, closed=closed)


def robust_scale(mad: float, mean_abs_deviation: float) -> float:
    """Return the robust standard deviation of the robust z rule.

    ``1.4826 * mad``, or ``1.2533 * mean_abs_deviation`` when the MAD is 0;
    both estimate the standard deviation for normal data.
    """
    scale = _MAD_TO_STD * mad
    if scale == 0.0:
        scale = _MEAN_AD_TO_STD * mean_abs_deviation
    return scale


def _flip(values: Any, orientation: str) -> Any:
    """Convert between the input orientation and anomaly orientation."""
    return values if orientation == "anomaly" else -values


# ----------------------------------------------------------------- interface
class BaseThreshold(FittedStateMixin, BaseEstimator):
    """Base class of the threshold methods: ``fit`` sets ``threshold_``.

    Subclasses store their parameters unchanged in ``__init__``, declare them
    in ``_parameter_constraints`` (checked at the start of ``fit``, with
    scikit-learn's messages), and implement ``_fit_anomaly(anomaly_scores,
    y)``, which receives validated scores in anomaly orientation (higher =
    more anomalous) and returns the threshold on that scale. ``fit`` converts
    it back to the orientation of the input. ``get_params``, ``set_params``,
    ``clone`` and the repr come from scikit-learn's ``BaseEstimator``.

    See Also
    --------
    make_threshold : Build a method from its name.
    """

    orientation: str
    _parameter_constraints: dict = {
        "orientation": [StrOptions(set(_ORIENTATIONS))],
    }

    def fit(self: _T, scores: ArrayLike, y: ArrayLike | None = None) -> _T:
        """Compute ``threshold_`` from calibration scores.

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            Calibration scores, in the orientation given by ``orientation``.
        y : array-like of shape (n_samples,), default=None
            Labels (1 = anomaly, 0 = normal); used only by ``BestFThreshold``.

        Returns
        -------
        self : object
            The fitted method.
        """
        self._validate_params()
        self._orientation = self.orientation
        anomaly = _flip(_check_scores(scores), self._orientation)
        self.threshold_ = float(_flip(self._fit_anomaly(anomaly, y), self._orientation))
        return self

    def _fit_anomaly(self, anomaly: np.ndarray, y: ArrayLike | None) -> float:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise ValueError(
                f"This {type(self).__name__} is not fitted yet. Call fit(scores) "
                "with calibration scores before predict or update."
            )

    def predict(self, scores: ArrayLike) -> np.ndarray:
        """Flag the anomalies in ``scores``.

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            Scores in the same orientation as in ``fit``.

        Returns
        -------
        flags : ndarray of shape (n_samples,)
            Boolean, True where the score is beyond ``threshold_``.
        """
        self._check_fitted()
        anomaly = _flip(_check_scores(scores), self._orientation)
        return anomaly > _flip(self.threshold_, self._orientation)

    def fit_predict(self, scores: ArrayLike, y: ArrayLike | None = None) -> np.ndarray:
        """Fit on ``scores`` and flag them; see ``fit`` and ``predict``."""
        return self.fit(scores, y).predict(scores)
