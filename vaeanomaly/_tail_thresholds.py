"""Extreme-value thresholds: Peaks-Over-Threshold and its streaming form SPOT.

Re-exported by :mod:`vaeanomaly.thresholds`, which documents the interface.
"""

import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from vaeanomaly._compat import Interval
from vaeanomaly._gpd import fit_gpd, gpd_tail_quantile
from vaeanomaly._threshold_base import (
    _MIN_PEAKS,
    _T,
    BaseThreshold,
    _check_scores,
    _constraints,
    _flip,
    _fraction,
)


class POTThreshold(BaseThreshold):
    """Peaks-Over-Threshold: an extreme-value threshold for a tiny ``risk``.

    Use it when anomalies should be rare events, far in the tail, with a
    target probability ``risk`` below what the calibration scores can show
    directly (e.g. 1e-4 with 10 000 scores). Method of Siffer et al.,
    "Anomaly Detection in Streams with Extreme Value Theory", KDD 2017: the
    initial threshold ``t`` is the ``initial_quantile`` quantile of the
    anomaly scores; the excesses ``Y = X[X > t] - t`` get a Generalised Pareto
    fit (shape gamma, scale sigma) by maximum likelihood with Grimshaw's
    trick; and with n scores and ``N_t`` peaks the threshold is
    ``z_q = t + sigma / gamma * ((risk * n / N_t) ** -gamma - 1)``, or
    ``t - sigma * log(risk * n / N_t)`` when gamma is 0. A new normal score
    then exceeds ``z_q`` with probability about ``risk``.

    Parameters
    ----------
    risk : float, default=1e-4
        Target probability that a normal score is flagged, in (0, 1) and
        below the fraction of scores above ``t`` (about
        ``1 - initial_quantile``).
    initial_quantile : float, default=0.98
        Quantile that sets ``t``, in (0, 1). At least 10 scores must lie
        above it.
    orientation : {"normality", "anomaly"}, default="normality"
        Direction of the scores; see the module docstring.

    Attributes
    ----------
    threshold_ : float
        The threshold ``z_q``, in the orientation of the input.
    initial_threshold_ : float
        The initial threshold ``t``, in the orientation of the input.
    gpd_shape_ : float
        Fitted shape gamma (0: exponential tail, > 0: heavy, < 0: bounded).
    gpd_scale_ : float
        Fitted scale sigma, > 0, in score units.
    n_peaks_ : int
        Number of scores above ``t`` (``N_t``).

    See Also
    --------
    threshold_from_pot : The same as a function.
    SPOT : The streaming form, which updates the fit as scores arrive.

    Examples
    --------
    >>> import numpy as np
    >>> from vaeanomaly.thresholds import POTThreshold
    >>> anomaly_scores = np.random.default_rng(0).exponential(size=100_000)
    >>> pot = POTThreshold(risk=1e-4, orientation="anomaly").fit(anomaly_scores)
    >>> round(pot.threshold_, 2)  # exact for Exp(1): -log(1e-4) = 9.21
    9.44
    """

    _parameter_constraints = _constraints(
        risk=[_fraction()], initial_quantile=[_fraction()]
    )

    def __init__(
        self,
        risk: float = 1e-4,
        initial_quantile: float = 0.98,
        *,
        orientation: str = "normality",
    ):
        self.risk = risk
        self.initial_quantile = initial_quantile
        self.orientation = orientation

    @classmethod
    def from_peaks(
        cls,
        initial_threshold: float,
        peaks: ArrayLike,
        n_scores: int,
        *,
        risk: float = 1e-4,
        initial_quantile: float = 0.98,
        orientation: str = "normality",
    ) -> "POTThreshold":
        """Return the method fitted on scores known only by their tail.

        ``fit`` finds the initial threshold and the peaks beyond it in the
        scores it is given; pass them yourself when the scores are too many
        to hold, e.g. from Dask in :func:`vaeanomaly.dask.offset_from_scores`.

        Parameters
        ----------
        initial_threshold : float
            The initial threshold ``t``, in the orientation of the scores:
            their ``initial_quantile`` quantile for anomaly scores, their
            ``1 - initial_quantile`` quantile for normality scores.
        peaks : array-like of shape (n_peaks,)
            How far each score beyond ``t`` lies beyond it (positive).
        n_scores : int
            Number of scores in all.
        risk, initial_quantile : float
            As in the class.
        orientation : {"normality", "anomaly"}, default="normality"
            Direction of the scores; see the module docstring.

        Returns
        -------
        POTThreshold
            Fitted, with the attributes that ``fit`` sets.

        Examples
        --------
        >>> import numpy as np
        >>> from vaeanomaly.thresholds import POTThreshold
        >>> rng = np.random.default_rng(0)
        >>> pot = POTThreshold.from_peaks(
        ...     3.0, rng.exponential(size=500), 10_000, risk=1e-4, orientation="anomaly"
        ... )
        >>> pot.n_peaks_
        500
        """
        method = cls(risk, initial_quantile, orientation=orientation)
        method._validate_params()
        method._orientation = orientation
        t = float(_flip(float(initial_threshold), orientation))
        excesses = np.asarray(peaks, dtype=np.float64)
        threshold = method._fit_tail(t, excesses, int(n_scores))
        method.threshold_ = float(_flip(threshold, orientation))
        return method

    def _calibrate(self, anomaly: np.ndarray) -> float:
        """Fit the tail of ``anomaly`` and set the fitted attributes."""
        t = float(np.quantile(anomaly, float(self.initial_quantile)))
        return self._fit_tail(t, anomaly[anomaly > t] - t, anomaly.size)

    def _fit_tail(self, t: float, peaks: np.ndarray, n_scores: int) -> float:
        """Fit the GPD to the ``peaks`` over ``t`` among ``n_scores`` scores."""
        risk, q = float(self.risk), float(self.initial_quantile)
        if peaks.size < _MIN_PEAKS:
            need = math.ceil(_MIN_PEAKS / (1.0 - q))
            raise ValueError(
                f"Only {peaks.size} of {n_scores} scores lie above the "
                f"initial threshold (the initial_quantile={self.initial_quantile!r} "
                f"quantile); at least {_MIN_PEAKS} are needed to fit the tail. Lower "
                f"initial_quantile (e.g. 0.9) or pass about {need} scores or more."
            )
        if risk * n_scores >= peaks.size:
            raise ValueError(
                f"risk={self.risk!r} is not below the fraction of scores above the "
                f"initial threshold ({peaks.size}/{n_scores}). Lower risk, "
                "or lower initial_quantile."
            )
        self._peaks = peaks
        self._t, self._risk, self._n_scores = t, risk, n_scores
        self.initial_threshold_ = float(_flip(t, self._orientation))
        return self._refit()

    def _refit(self) -> float:
        self.gpd_shape_, self.gpd_scale_ = fit_gpd(self._peaks)
        self.n_peaks_ = int(self._peaks.size)
        return gpd_tail_quantile(
            self._t,
            self.gpd_shape_,
            self.gpd_scale_,
            self._risk,
            self._n_scores,
            self.n_peaks_,
        )

    def _fit_anomaly(self, anomaly: np.ndarray, y: ArrayLike | None) -> float:
        return self._calibrate(anomaly)


class SPOT(POTThreshold):
    """Streaming Peaks-Over-Threshold (SPOT): POT that keeps learning.

    Use it on a stream whose normal behaviour is stationary, to flag rare
    extremes and let the tail fit improve as scores arrive (Siffer et al.,
    KDD 2017, Algorithm 1). ``fit`` calibrates exactly as ``POTThreshold``.
    ``update(scores)`` then takes the new scores one at a time, in order: a
    score beyond ``threshold_`` is an alarm and is left out of the model; a
    score between the initial threshold and ``threshold_`` is a new peak, so
    the GPD is refitted and ``threshold_`` recomputed; any other score only
    counts towards n (the threshold is recomputed at the next peak). The
    drifting variant DSPOT is not implemented: remove a trend from the scores
    first (e.g. subtract a moving average of recent normal scores).

    Because alarms are left out, as in the paper, the model sees a tail cut
    off at ``threshold_``, which thins the fitted tail. On a long stationary
    stream ``threshold_`` therefore settles somewhat below the batch
    ``POTThreshold`` value: for Exp(1) scores about 10% below at
    ``risk=1e-3`` and 6% below at ``risk=1e-4``, so alarms come about twice
    as often as ``risk``. Refit ``POTThreshold`` on recent scores when an
    unbiased level matters more than adaptation.

    Parameters
    ----------
    risk : float, default=1e-4
        Target probability that a normal score is flagged, in (0, 1).
    initial_quantile : float, default=0.98
        Quantile that sets the initial threshold, in (0, 1).
    n_init : int, default=None
        If given, ``fit`` calibrates on the first ``n_init`` scores and
        streams the rest through ``update``. None calibrates on all.
    orientation : {"normality", "anomaly"}, default="normality"
        Direction of the scores; see the module docstring.

    Attributes
    ----------
    threshold_ : float
        The current threshold, in the orientation of the input.
    thresholds_ : ndarray of shape (n_streamed,)
        The threshold each streamed score was compared with, in order.
    initial_threshold_, gpd_shape_, gpd_scale_, n_peaks_
        As in ``POTThreshold``, for the current fit.

    See Also
    --------
    spot_flags : The same as a function.
    POTThreshold : The batch form.

    Examples
    --------
    >>> import numpy as np
    >>> from vaeanomaly.thresholds import SPOT
    >>> rng = np.random.default_rng(0)
    >>> spot = SPOT(risk=1e-3, orientation="anomaly").fit(rng.exponential(size=2000))
    >>> flags = spot.update(np.r_[rng.exponential(size=500), 50.0])
    >>> np.flatnonzero(flags), len(spot.thresholds_)
    (array([500]), 501)
    """

    _parameter_constraints = {
        **POTThreshold._parameter_constraints,
        "n_init": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        risk: float = 1e-4,
        initial_quantile: float = 0.98,
        n_init: int | None = None,
        *,
        orientation: str = "normality",
    ):
        super().__init__(risk, initial_quantile, orientation=orientation)
        self.n_init = n_init

    def fit(self: _T, scores: ArrayLike, y: ArrayLike | None = None) -> _T:
        """Calibrate on ``scores`` (or their first ``n_init``); see ``POTThreshold``."""
        self._validate_params()
        self._orientation = self.orientation
        anomaly = _flip(_check_scores(scores), self._orientation)
        n_init = anomaly.size
        if self.n_init is not None:
            n_init = _check_n_init(self.n_init, anomaly.size)
        self._z = self._calibrate(anomaly[:n_init])
        self.threshold_ = float(_flip(self._z, self._orientation))
        self.thresholds_ = np.empty(0)
        self._stream(anomaly[n_init:])
        return self

    def update(self, scores: ArrayLike) -> np.ndarray:
        """Process new scores in order, updating the threshold as peaks arrive.

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            New scores, in the orientation used in ``fit``.

        Returns
        -------
        flags : ndarray of shape (n_samples,)
            Boolean, True where a score was an alarm when it arrived.
        """
        self._check_fitted()
        return self._stream(_flip(_check_scores(scores), self._orientation))

    def _stream(self, anomaly: np.ndarray) -> np.ndarray:
        flags = np.zeros(anomaly.size, dtype=bool)
        history = np.empty(anomaly.size)
        start = 0
        for i in np.flatnonzero(anomaly > self._t):  # only these can change z
            history[start : i + 1] = self._z
            self._n_scores += i - start  # the normal scores before i
            if anomaly[i] > self._z:
                flags[i] = True
            else:
                self._peaks = np.append(self._peaks, anomaly[i] - self._t)
                self._n_scores += 1
                self._z = self._refit()
            start = i + 1
        history[start:] = self._z
        self._n_scores += anomaly.size - start
        self.threshold_ = float(_flip(self._z, self._orientation))
        self.thresholds_ = np.r_[self.thresholds_, _flip(history, self._orientation)]
        return flags


def _check_n_init(n_init: Any, n: int) -> int:
    if isinstance(n_init, bool) or not isinstance(n_init, numbers.Integral):
        raise TypeError(
            f"n_init must be an int; got {n_init!r} of type {type(n_init).__name__}. "
            "Pass the number of leading scores to calibrate on."
        )
    if not 1 <= n_init <= n:
        raise ValueError(
            f"n_init must be in [1, {n}] (the number of scores); got {n_init!r}. "
            "Pass the number of leading scores to calibrate on."
        )
    return int(n_init)
