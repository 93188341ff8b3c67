"""Turn 1-D scores into anomaly flags.

The methods here work on any 1-D array of scores, whether it comes from this
package's estimator or from another library. Each method is a small class:
``fit(scores, y=None)`` sets ``threshold_`` and returns ``self``, and
``predict(scores)`` returns a boolean array, with ``True`` marking an anomaly.
Each class also has a one-line function for one-off use. ``make_threshold``
builds a method from a name in ``THRESHOLDS``, so an estimator can take
``threshold="pot"`` or ``threshold=POTThreshold(risk=1e-3)``. As in
scikit-learn, parameters are plain attributes stored by ``__init__`` and
checked at the start of ``fit`` against each class's
``_parameter_constraints``, as in scikit-learn.

The direction of the scores is never guessed. Every class and function takes
the keyword ``orientation``:

- ``"normality"`` (the default): higher means more normal, like
  scikit-learn's ``score_samples`` and this package's estimator. A score is
  flagged when ``score < threshold_``.
- ``"anomaly"``: higher means more anomalous, like PyOD's
  ``decision_scores_`` or a reconstruction error. A score is flagged when
  ``score > threshold_``.

``threshold_`` and the other fitted locations (``center_``,
``initial_threshold_``) are given in the orientation of the input. The
comparison is strict, so a score equal to the threshold is not flagged.
Internally the scores are turned into anomaly scores (negated when
``orientation="normality"``), the threshold is computed there, and it is
negated back. Negation is exact, so the two orientations give the same flags.

Examples
--------
>>> import numpy as np
>>> from vaeanomaly.thresholds import ContaminationThreshold
>>> anomaly_scores = np.arange(10.0)  # higher = more anomalous
>>> method = ContaminationThreshold(0.2, orientation="anomaly").fit(anomaly_scores)
>>> method.threshold_
7.2
>>> np.flatnonzero(method.predict(anomaly_scores))
array([8, 9])
>>> normality_scores = -anomaly_scores  # same data, opposite orientation
>>> ContaminationThreshold(0.2).fit(normality_scores).threshold_
-7.2
"""

import copy
import math
import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import clone

from vaeanomaly._tail_thresholds import SPOT, POTThreshold, _check_n_init
from vaeanomaly._threshold_base import (
    _T,
    BaseThreshold,
    _check_orientation,
    _check_scores,
    _constraints,
    _flip,
    _fraction,
    _positive,
    robust_scale,
)

__all__ = [
    "THRESHOLDS",
    "SPOT",
    "BaseThreshold",
    "BestFThreshold",
    "ContaminationThreshold",
    "FPRThreshold",
    "FixedThreshold",
    "IQRThreshold",
    "POTThreshold",
    "RobustZScoreThreshold",
    "apply_threshold",
    "fit_offset",
    "make_threshold",
    "spot_flags",
    "threshold_from_best_f",
    "threshold_from_contamination",
    "threshold_from_fpr",
    "threshold_from_iqr",
    "threshold_from_pot",
    "threshold_from_quantile",
    "threshold_from_robust_z",
]


# ------------------------------------------------------------------- methods
class ContaminationThreshold(BaseThreshold):
    """Flag a given fraction of the calibration scores (scikit-learn's rule).

    Use it when you know roughly what fraction of the data is anomalous. The
    threshold is the ``1 - contamination`` quantile of the anomaly scores
    (linear interpolation), which equals scikit-learn's
    ``offset_ = np.percentile(score_samples, 100 * contamination)``. On the
    calibration scores a fraction close to ``contamination`` is flagged: for
    n distinct scores exactly ``ceil((n - 1) * contamination)`` of them (up to
    rounding when that product is a whole number).

    Parameters
    ----------
    contamination : float, default=0.1
        Expected fraction of anomalies, in (0, 0.5].
    orientation : {"normality", "anomaly"}, default="normality"
        Direction of the scores; see the module docstring.

    Attributes
    ----------
    threshold_ : float
        The threshold, in the orientation of the input.

    See Also
    --------
    threshold_from_contamination : The same as a function.
    FPRThreshold : A guaranteed false-positive rate from clean scores.

    Examples
    --------
    >>> import numpy as np
    >>> from vaeanomaly.thresholds import ContaminationThreshold
    >>> scores = np.arange(100.0)  # higher = more normal
    >>> method = ContaminationThreshold(contamination=0.05).fit(scores)
    >>> round(method.threshold_, 2), int(method.predict(scores).sum())
    (4.95, 5)
    """

    _parameter_constraints = _constraints(
        contamination=[_fraction(closed="right", high=0.5)]
    )

    def __init__(self, contamination: float = 0.1, *, orientation: str = "normality"):
        self.contamination = contamination
        self.orientation = orientation

    def _fit_anomaly(self, anomaly: np.ndarray, y: ArrayLike | None) -> float:
        return float(np.quantile(anomaly, 1.0 - self.contamination))


class FixedThreshold(BaseThreshold):
    """Use a threshold value that you choose.

    Use it when the cut-off comes from domain knowledge or an earlier study.
    ``fit`` only checks ``value``; its ``scores`` are optional and unused.

    Parameters
    ----------
    value : float, default=None
        The threshold, in the orientation given by ``orientation``. Required:
        ``fit`` raises if it is still None.
    orientation : {"normality", "anomaly"}, default="normality"
        Direction of the scores; see the module docstring.

    Attributes
    ----------
    threshold_ : float
        ``value`` as a float.

    See Also
    --------
    apply_threshold : Flag scores against a value, as a function.

    Examples
    --------
    >>> from vaeanomaly.thresholds import FixedThreshold
    >>> FixedThreshold(2.0, orientation="anomaly").fit().predict([1.0, 2.0, 3.0])
    array([False, False,  True])
    """

    _parameter_constraints = _constraints(value=[numbers.Real, None])

    def __init__(self, value: float | None = None, *, orientation: str = "normality"):
        self.value = value
        self.orientation = orientation

    def fit(
        self: _T, scores: ArrayLike | None = None, y: ArrayLike | None = None
    ) -> _T:
        """Check ``value`` and store it as ``threshold_``; see ``BaseThreshold.fit``."""
        self._validate_params()
        self._orientation = self.orientation
        if scores is not None:
            _check_scores(scores)
        if self.value is None or not math.isfinite(self.value):
            raise ValueError(
                f"FixedThreshold needs a finite value; got {self.value!r}. Pass a "
                "finite threshold, e.g. FixedThreshold(value=2.5)."
            )
        self.threshold_ = float(self.value)
        return self


class RobustZScoreThreshold(BaseThreshold):
    """Flag scores more than ``z`` robust standard deviations above the median.

    Use it for roughly symmetric, unimodal scores when the calibration data
    may already contain anomalies: the median and the MAD (median absolute
    deviation) barely move when a minority of points are extreme, unlike the
    mean and standard deviation. On anomaly scores the threshold is
    ``median + z * scale`` with ``scale = 1.4826 * MAD``, which estimates the
    standard deviation for normal data (for normality scores, the threshold
    is ``median - z * scale``). ``z=3.5`` is the usual cut-off for
    the modified z-score (Iglewicz and Hoaglin, 1993).

    If more than half the scores are equal, the MAD is 0. The scale then falls
    back to ``1.2533 * mean(|score - median|)`` (also a standard deviation
    estimate for normal data). If that is 0 too, all calibration scores are
    equal: ``threshold_`` is their common value, so none of them is flagged,
    and any later score beyond it is.

    Parameters
    ----------
    z : float, default=3.5
        Number of robust standard deviations, > 0.
    orientation : {"normality", "anomaly"}, default="normality"
        Direction of the scores; see the module docstring.

    Attributes
    ----------
    threshold_ : float
        The threshold, in the orientation of the input.
    center_ : float
        Median of the calibration scores.
    scale_ : float
        Robust standard deviation (>= 0) used for the threshold.

    See Also
    --------
    threshold_from_robust_z : The same as a function.
    IQRThreshold : Tukey's fence, also robust.

    Examples
    --------
    >>> from vaeanomaly.thresholds import RobustZScoreThreshold
    >>> method = RobustZScoreThreshold(z=3.5, orientation="anomaly")
    >>> method.fit([1.0, 2.0, 3.0, 4.0, 100.0]).threshold_
    8.1891
    """

    _parameter_constraints = _constraints(z=[_positive()])

    def __init__(self, z: float = 3.5, *, orientation: str = "normality"):
        self.z = z
        self.orientation = orientation

    @classmethod
    def from_deviations(
        cls,
        median: float,
        mad: float,
        mean_abs_deviation: float,
        *,
        z: float = 3.5,
        orientation: str = "normality",
    ) -> "RobustZScoreThreshold":
        """Return the method fitted on scores known only by their deviations.

        ``fit`` computes these summaries from the scores it is given; pass
        them yourself when the scores are too many to hold, e.g. Dask's
        approximate quantiles in :func:`vaeanomaly.dask.offset_from_scores`.

        Parameters
        ----------
        median : float
            Median of the scores, in the orientation given by ``orientation``.
        mad : float
            Median of ``|score - median|``.
        mean_abs_deviation : float
            Mean of ``|score - median|``; the scale comes from it when ``mad``
            is 0.
        z : float, default=3.5
            Number of robust standard deviations, > 0.
        orientation : {"normality", "anomaly"}, default="normality"
            Direction of the scores; see the module docstring.

        Returns
        -------
        RobustZScoreThreshold
            Fitted: ``threshold_``, ``center_`` and ``scale_`` as ``fit``
            sets them.

        Examples
        --------
        >>> from vaeanomaly.thresholds import RobustZScoreThreshold
        >>> RobustZScoreThreshold.from_deviations(3.0, 1.0, 20.0).threshold_
        -2.1891
        """
        method = cls(z, orientation=orientation)
        method._validate_params()
        method._orientation = orientation
        center = _flip(float(median), orientation)
        threshold = method._cut(center, float(mad), float(mean_abs_deviation))
        method.threshold_ = float(_flip(threshold, orientation))
        return method

    def _fit_anomaly(self, anomaly: np.ndarray, y: ArrayLike | None) -> float:
        center = float(np.median(anomaly))
        deviation = np.abs(anomaly - center)
        return self._cut(center, float(np.median(deviation)), float(deviation.mean()))

    def _cut(self, center: float, mad: float, mean_abs_deviation: float) -> float:
        """Set ``center_`` and ``scale_``; return the threshold on anomaly scores."""
        scale = robust_scale(mad, mean_abs_deviation)
        self.center_ = float(_flip(center, self._orientation))
        self.scale_ = scale
        return center + float(self.z) * scale


class IQRThreshold(BaseThreshold):
    """Flag scores beyond Tukey's upper fence ``Q3 + k * IQR``.

    Use it as a robust, distribution-free rule of thumb when the calibration
    scores may contain some anomalies. Quartiles are those of the anomaly
    scores (``np.percentile``, linear interpolation); for normality scores this
    is the lower fence ``Q1 - k * IQR``. For normal data ``k=1.5`` flags about
    0.7% of scores and ``k=3`` ("far out") about 0.0002%.

    Parameters
    ----------
    k : float, default=1.5
        Fence width in interquartile ranges, >= 0.
    orientation : {"normality", "anomaly"}, default="normality"
        Direction of the scores; see the module docstring.

    Attributes
    ----------
    threshold_ : float
        The threshold, in the orientation of the input.

    See Also
    --------
    threshold_from_iqr : The same as a function.
    RobustZScoreThreshold : Median and MAD instead of quartiles.

    Examples
    --------
    >>> from vaeanomaly.thresholds import IQRThreshold
    >>> method = IQRThreshold(k=1.5, orientation="anomaly")
    >>> method.fit([1.0, 2.0, 3.0, 4.0, 5.0]).threshold_
    7.0
    """

    _parameter_constraints = _constraints(k=[_positive(closed="left")])

    def __init__(self, k: float = 1.5, *, orientation: str = "normality"):
        self.k = k
        self.orientation = orientation

    def _fit_anomaly(self, anomaly: np.ndarray, y: ArrayLike | None) -> float:
        q1, q3 = np.percentile(anomaly, [25.0, 75.0])
        return float(q3 + self.k * (q3 - q1))


class FPRThreshold(BaseThreshold):
    """Guarantee a false-positive rate from clean validation scores.

    Use it when you have scores of data known to be normal (held out from
    training) and want at most a fraction ``alpha`` of new normal data
    flagged. This is the split-conformal rule: with n clean anomaly scores
    sorted as ``X_(1) <= ... <= X_(n)``, the threshold is the order
    statistic ``X_(k)`` with ``k = ceil((n + 1) * (1 - alpha))``. For a new
    normal score ``X`` exchangeable with them, ``P(X > X_(k)) <= alpha``,
    with equality up to ``1 / (n + 1)`` when there are no ties. This needs
    ``k <= n``, that is ``n >= 1 / alpha - 1``.

    Parameters
    ----------
    alpha : float, default=0.01
        Target false-positive rate, in (0, 1).
    orientation : {"normality", "anomaly"}, default="normality"
        Direction of the scores; see the module docstring.

    Attributes
    ----------
    threshold_ : float
        The threshold, in the orientation of the input.
    rank_ : int
        ``k``, the 1-based rank of the threshold among the anomaly scores.

    See Also
    --------
    threshold_from_fpr : The same as a function.

    Examples
    --------
    >>> import numpy as np
    >>> from vaeanomaly.thresholds import FPRThreshold
    >>> clean = np.arange(1.0, 100.0)  # 99 clean anomaly scores
    >>> method = FPRThreshold(alpha=0.05, orientation="anomaly").fit(clean)
    >>> method.rank_, method.threshold_
    (95, 95.0)
    """

    _parameter_constraints = _constraints(alpha=[_fraction()])

    def __init__(self, alpha: float = 0.01, *, orientation: str = "normality"):
        self.alpha = alpha
        self.orientation = orientation

    def _fit_anomaly(self, anomaly: np.ndarray, y: ArrayLike | None) -> float:
        alpha = float(self.alpha)
        n = anomaly.size
        n_above = math.floor((n + 1) * alpha + 1e-9)  # 1e-9 absorbs rounding
        if n_above < 1:
            need = math.ceil(1.0 / alpha - 1.0 - 1e-9)
            raise ValueError(
                f"FPRThreshold with alpha={self.alpha!r} needs at least {need} clean "
                f"scores (n >= 1/alpha - 1); got {n}. Pass more validation scores, "
                f"or raise alpha to at least {1.0 / (n + 1):.3g}."
            )
        self.rank_ = n + 1 - n_above
        return float(np.sort(anomaly)[self.rank_ - 1])


class BestFThreshold(BaseThreshold):
    """Choose the threshold that maximises F-beta on labelled scores.

    Use it when you have validation scores with anomaly labels. Every cut
    between two distinct scores is tried at once (scores sorted, cumulative
    true- and false-positive counts), and the one with the highest
    ``F_beta = (1 + beta**2) TP / ((1 + beta**2) TP + beta**2 FN + FP)`` wins
    (the fewest flags on ties). ``threshold_`` lies halfway between the
    lowest flagged and the highest unflagged anomaly score.

    Parameters
    ----------
    beta : float, default=1.0
        Weight of recall relative to precision, > 0 (2 favours recall).
    orientation : {"normality", "anomaly"}, default="normality"
        Direction of the scores; see the module docstring.

    Attributes
    ----------
    threshold_ : float
        The threshold, in the orientation of the input.
    best_score_ : float
        F-beta of the chosen threshold on the calibration data.

    See Also
    --------
    threshold_from_best_f : The same as a function.

    Examples
    --------
    >>> from vaeanomaly.thresholds import BestFThreshold
    >>> method = BestFThreshold(orientation="anomaly")
    >>> method.fit([0.1, 0.4, 0.35, 0.8, 0.9], y=[0, 0, 0, 1, 1])
    BestFThreshold(orientation='anomaly')
    >>> round(method.threshold_, 3), method.best_score_
    (0.6, 1.0)
    """

    _parameter_constraints = _constraints(beta=[_positive()])

    def __init__(self, beta: float = 1.0, *, orientation: str = "normality"):
        self.beta = beta
        self.orientation = orientation

    def _fit_anomaly(self, anomaly: np.ndarray, y: ArrayLike | None) -> float:
        beta = float(self.beta)
        labels = _check_labels(y, anomaly.size)
        order = np.argsort(-anomaly, kind="stable")
        ranked, tp = anomaly[order], np.cumsum(labels[order])
        n_flagged = np.arange(1, anomaly.size + 1)
        f = (1 + beta**2) * tp / (n_flagged + beta**2 * tp[-1])
        f[:-1][ranked[:-1] == ranked[1:]] = -1.0  # cannot cut inside a tie
        best = int(np.argmax(f))
        self.best_score_ = float(f[best])
        if best == anomaly.size - 1:
            return float(np.nextafter(ranked[-1], -np.inf))
        hi, lo = ranked[best], ranked[best + 1]
        mid = 0.5 * lo + 0.5 * hi
        return float(mid if lo <= mid < hi else lo)


def _check_labels(y: ArrayLike | None, n: int) -> np.ndarray:
    if y is None:
        raise ValueError(
            "BestFThreshold needs labels: call fit(scores, y) with y = 1 for "
            "anomalies and 0 for normal scores. Without labels use another method, "
            "e.g. FPRThreshold."
        )
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape != (n,):
        raise ValueError(
            f"y must have shape ({n},), one label per score; got shape "
            f"{labels.shape!r}. Pass one 0/1 label per score."
        )
    if labels.dtype.kind not in "biuf" or not np.isin(labels, [0, 1]).all():
        raise ValueError(
            f"y must contain only 0 (normal) and 1 (anomaly); got values "
            f"{np.unique(labels)[:5].tolist()!r}. For scikit-learn's -1/+1 "
            "predictions pass (y == -1).astype(int)."
        )
    if not labels.any():
        raise ValueError(
            "y contains no anomalies (no 1s), so F-beta is undefined. Add labelled "
            "anomalies, or use FPRThreshold, which needs only normal scores."
        )
    return labels.astype(np.int64)


# ----------------------------------------------------------------- functions
# One-line shortcuts for one-off use: each fits its class and returns the
# threshold; the class's docstring says what the rule is.
def threshold_from_contamination(
    scores: ArrayLike, contamination: float, *, orientation: str = "normality"
) -> float:
    """Return ``ContaminationThreshold(contamination).fit(scores).threshold_``."""
    return (
        ContaminationThreshold(contamination, orientation=orientation)
        .fit(scores)
        .threshold_
    )


def threshold_from_quantile(
    scores: ArrayLike, q: float, *, orientation: str = "normality"
) -> float:
    """Return the threshold that leaves a fraction ``q`` of ``scores`` unflagged.

    The ``q`` quantile of anomaly scores, or the ``1 - q`` quantile of
    normality scores; ``q`` in (0, 1).

    Examples
    --------
    >>> from vaeanomaly.thresholds import threshold_from_quantile
    >>> threshold_from_quantile([1.0, 2.0, 3.0, 4.0, 5.0], 0.75, orientation="anomaly")
    4.0
    """
    if not (isinstance(q, numbers.Real) and 0.0 < q < 1.0):
        raise ValueError(f"q must be in (0.0, 1.0); got {q!r}. Pass e.g. q=0.95.")
    anomaly = _flip(_check_scores(scores), _check_orientation(orientation))
    return float(_flip(np.quantile(anomaly, q), orientation))


def apply_threshold(
    scores: ArrayLike, threshold: float, *, orientation: str = "normality"
) -> np.ndarray:
    """Return ``FixedThreshold(threshold).fit().predict(scores)``."""
    return FixedThreshold(threshold, orientation=orientation).fit().predict(scores)


def threshold_from_robust_z(
    scores: ArrayLike, z: float = 3.5, *, orientation: str = "normality"
) -> float:
    """Return ``RobustZScoreThreshold(z).fit(scores).threshold_``."""
    return RobustZScoreThreshold(z, orientation=orientation).fit(scores).threshold_


def threshold_from_iqr(
    scores: ArrayLike, k: float = 1.5, *, orientation: str = "normality"
) -> float:
    """Return ``IQRThreshold(k).fit(scores).threshold_``."""
    return IQRThreshold(k, orientation=orientation).fit(scores).threshold_


def threshold_from_pot(
    scores: ArrayLike,
    risk: float = 1e-4,
    initial_quantile: float = 0.98,
    *,
    orientation: str = "normality",
) -> float:
    """Return ``POTThreshold(risk, initial_quantile).fit(scores).threshold_``."""
    method = POTThreshold(risk, initial_quantile, orientation=orientation)
    return method.fit(scores).threshold_


def spot_flags(
    scores: ArrayLike,
    n_init: int,
    risk: float = 1e-4,
    initial_quantile: float = 0.98,
    *,
    orientation: str = "normality",
) -> tuple[np.ndarray, np.ndarray]:
    """Run SPOT: calibrate on the first ``n_init`` scores, stream the rest.

    Returns the alarms of the streamed scores and the threshold each was
    compared with (see :class:`SPOT`).

    Examples
    --------
    >>> import numpy as np
    >>> from vaeanomaly.thresholds import spot_flags
    >>> stream = np.r_[np.random.default_rng(0).exponential(size=3000), 40.0]
    >>> flags, thresholds = spot_flags(stream, 2000, 1e-3, orientation="anomaly")
    >>> np.flatnonzero(flags)
    array([1000])
    """
    anomaly = _flip(_check_scores(scores), _check_orientation(orientation))
    n = _check_n_init(n_init, anomaly.size)
    spot = SPOT(risk, initial_quantile, orientation="anomaly").fit(anomaly[:n])
    flags = spot._stream(anomaly[n:])
    return flags, _flip(spot.thresholds_, orientation)


def threshold_from_fpr(
    scores: ArrayLike, alpha: float = 0.01, *, orientation: str = "normality"
) -> float:
    """Return ``FPRThreshold(alpha).fit(scores).threshold_``."""
    return FPRThreshold(alpha, orientation=orientation).fit(scores).threshold_


def threshold_from_best_f(
    scores: ArrayLike,
    y: ArrayLike,
    beta: float = 1.0,
    *,
    orientation: str = "normality",
) -> float:
    """Return ``BestFThreshold(beta).fit(scores, y).threshold_``."""
    return BestFThreshold(beta, orientation=orientation).fit(scores, y).threshold_


# ------------------------------------------------------------------ registry
#: The threshold methods by name: what ``threshold="NAME"`` and
#: :func:`make_threshold` accept.
THRESHOLDS: dict[str, type[BaseThreshold]] = {
    "contamination": ContaminationThreshold,
    "fixed": FixedThreshold,
    "robust_z": RobustZScoreThreshold,
    "mad": RobustZScoreThreshold,
    "iqr": IQRThreshold,
    "pot": POTThreshold,
    "spot": SPOT,
    "fpr": FPRThreshold,
    "best_f": BestFThreshold,
}


def make_threshold(spec: str | BaseThreshold, **params: Any) -> BaseThreshold:
    """Build an unfitted threshold method from a name or an instance.

    Parameters
    ----------
    spec : str or object
        A key of ``THRESHOLDS`` (``"mad"`` is an alias of ``"robust_z"``), or
        an instance. An instance is never modified or returned itself: like
        scikit-learn's ``clone``, a new unfitted ``BaseThreshold`` is built
        from deep copies of its parameters, so fitting it leaves ``spec``
        untouched. Any other object with ``fit`` and ``predict`` methods
        (your own method) is returned as a deep copy.
    **params
        Parameters to set, overriding those of ``spec`` (for your own
        objects, through their ``set_params``).

    Returns
    -------
    method : object
        A new, unfitted instance (or a copy of your own object).

    See Also
    --------
    THRESHOLDS : The names and their classes.

    Examples
    --------
    >>> from vaeanomaly.thresholds import POTThreshold, make_threshold
    >>> make_threshold("pot", risk=1e-3)
    POTThreshold(risk=0.001)
    >>> make_threshold(POTThreshold(risk=1e-3), orientation="anomaly")
    POTThreshold(orientation='anomaly', risk=0.001)
    """
    if isinstance(spec, str):
        if spec not in THRESHOLDS:
            raise ValueError(
                f"Unknown threshold method {spec!r}. Use one of "
                f"{sorted(THRESHOLDS)!r}, or pass an instance such as POTThreshold()."
            )
        cls, base = THRESHOLDS[spec], {}
    elif isinstance(spec, BaseThreshold):
        cls, base = type(spec), clone(spec).get_params(deep=False)
    elif isinstance(spec, type):
        raise TypeError(
            f"threshold must be a method name or an instance; got the class "
            f"{spec.__name__}. Instantiate it, e.g. {spec.__name__}()."
        )
    elif all(callable(getattr(spec, m, None)) for m in ("fit", "predict")):
        method = copy.deepcopy(spec)
        return method.set_params(**params) if params else method
    else:
        raise TypeError(
            f"threshold must be a method name or a threshold instance; got {spec!r} "
            f"of type {type(spec).__name__}. Pass e.g. 'pot' or POTThreshold()."
        )
    names = cls._get_param_names()
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ValueError(
            f"{cls.__name__} has no parameter(s) {unknown!r}. Its parameters are "
            f"{names!r}."
        )
    return cls(**{**base, **params})


def fit_offset(method: Any, scores: ArrayLike, y: ArrayLike | None = None) -> float:
    """Fit a threshold method on normality scores and return the cut-off.

    The estimator's ``offset_`` comes from here: ``scores`` are higher = more
    normal, and the result is in that orientation too, whatever the method's
    own ``orientation`` (an anomaly-oriented method sees ``-scores`` and its
    threshold is negated back).

    Parameters
    ----------
    method : BaseThreshold or object with ``fit`` and ``threshold_``
        An unfitted method; it is fitted in place.
    scores : array-like of shape (n_samples,)
        Normality scores (higher = more normal).
    y : array-like of shape (n_samples,), default=None
        Labels (1 = anomaly) for methods that use them.

    Returns
    -------
    float
        Rows with a score below it are anomalies.

    Examples
    --------
    >>> from vaeanomaly.thresholds import ContaminationThreshold, fit_offset
    >>> method = ContaminationThreshold(0.25, orientation="anomaly")
    >>> fit_offset(method, [4.0, 3.0, 2.0, 1.0])
    1.75
    """
    scores = np.asarray(scores, dtype=np.float64)
    anomaly_oriented = getattr(method, "orientation", "normality") == "anomaly"
    method.fit(-scores if anomaly_oriented else scores, y)
    value = float(method.threshold_)
    return -value if anomaly_oriented else value
