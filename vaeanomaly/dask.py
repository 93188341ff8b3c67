"""Score, fit and threshold on data that outgrows one machine, with Dask.

Needs the ``dask`` extra (``pip install "vaeanomaly[dask]"``). Nothing in
the code depends on where the scheduler runs: the same calls use a
``distributed.LocalCluster`` on a laptop or a multi-node cluster, given its
address in ``distributed.Client(address)``.

- :func:`score` scores a dask DataFrame (or array) partition by partition.
  The model goes into the task graph once, as a single ``dask.delayed``
  object every partition depends on, so each worker receives it once, not
  once per partition; every row gets exactly the score it gets in memory.
- :func:`fit_sample` fits on a uniform random sample of a collection too big
  to fit in memory.
- :func:`offset_from_scores` computes a threshold over the whole distributed
  score set: quantiles with dask, and for POT only the tail is collected.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

try:
    import dask
    import dask.array as da
    import dask.dataframe as dd
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "vaeanomaly.dask needs Dask: pip install 'vaeanomaly[dask]' (dask[dataframe] "
        "and distributed)."
    ) from exc

from vaeanomaly.estimator import VAEAnomalyDetector
from vaeanomaly.thresholds import POTThreshold, RobustZScoreThreshold

__all__ = ["fit_sample", "offset_from_scores", "score"]


def _feature_names(detector: VAEAnomalyDetector) -> list[str]:
    if hasattr(detector, "feature_names_in_"):
        return [str(c) for c in detector.feature_names_in_]
    return [f"x{j}" for j in range(detector.n_features_in_)]


def _as_frame(data: Any, names: list[str]) -> dd.DataFrame:
    if isinstance(data, da.Array):
        if data.ndim != 2 or data.shape[1] != len(names):
            raise ValueError(
                f"A dask array of shape {data.shape} cannot be scored by a model of "
                f"{len(names)} columns. Pass an array of shape (n, {len(names)})."
            )
        return dd.from_dask_array(data.rechunk({1: -1}), columns=names)
    if not isinstance(data, dd.DataFrame):
        raise TypeError(
            f"score needs a dask DataFrame or dask Array; got {type(data).__name__}. "
            "Use detector.score_samples for data in memory."
        )
    missing = [c for c in names if c not in map(str, data.columns)]
    if missing:
        raise ValueError(
            f"Column(s) {missing} were used in training but are missing from the dask "
            "DataFrame. Add them, or select the training columns."
        )
    return data


def _score_partition(
    part: pd.DataFrame, detector: VAEAnomalyDetector, names: list[str], features: bool
) -> pd.Series | pd.DataFrame:
    X = part[names]
    if not hasattr(detector, "feature_names_in_"):
        X = X.to_numpy()
    scores = pd.Series(detector.score_samples(X), index=part.index, name="score")
    if not features:
        return scores
    contributions = np.asarray(detector.score_features(X))
    out = pd.DataFrame(
        contributions, index=part.index, columns=[f"contrib_{n}" for n in names]
    )
    out.insert(0, "score", scores)
    return out


def score(detector: VAEAnomalyDetector, data: Any, *, features: bool = False) -> Any:
    """Score a dask collection lazily, one partition at a time.

    Parameters
    ----------
    detector : VAEAnomalyDetector
        A fitted detector (its module on the CPU, as after ``load_model``).
    data : dask.dataframe.DataFrame or dask.array.Array
        Rows to score, with the training columns (other columns are ignored).
    features : bool, default=False
        Also return each column's contribution (``contrib_<column>``).

    Returns
    -------
    dask.dataframe.Series or dask.dataframe.DataFrame
        ``score`` (higher = more normal), with ``data``'s index and divisions;
        with ``features``, a DataFrame of ``score`` and the contributions.

    Examples
    --------
    >>> import dask.dataframe as dd, numpy as np, pandas as pd
    >>> from vaeanomaly import VAEAnomalyDetector
    >>> frame = pd.DataFrame(np.random.default_rng(0).normal(size=(400, 3)),
    ...                      columns=["a", "b", "c"])
    >>> det = VAEAnomalyDetector(max_epochs=5, random_state=0).fit(frame)
    >>> lazy = score(det, dd.from_pandas(frame, npartitions=4))
    >>> bool(np.allclose(lazy.compute(), det.score_samples(frame)))
    True
    """
    names = _feature_names(detector)
    frame = _as_frame(data, names)
    model = dask.delayed(detector, pure=True, traverse=False)
    if features:
        meta = pd.DataFrame(
            {"score": pd.Series(dtype=np.float64)}
            | {f"contrib_{n}": pd.Series(dtype=np.float64) for n in names}
        )
    else:
        meta = pd.Series(dtype=np.float64, name="score")
    return frame.map_partitions(_score_partition, model, names, features, meta=meta)


def fit_sample(
    detector: VAEAnomalyDetector,
    data: dd.DataFrame,
    *,
    n_rows: int = 100_000,
    random_state: int | None = None,
) -> VAEAnomalyDetector:
    """Fit ``detector`` on a uniform random sample of about ``n_rows`` rows.

    The trade-off: two passes over the data (one to count the rows, one to
    sample them) and a model that has seen ``n_rows`` rows, not all of them.
    For a VAE, whose training stops early on a validation split, a few
    hundred thousand rows usually carry as much as the whole table; rare
    normal patterns below ``1 / n_rows`` of the data may be missed, so raise
    ``n_rows`` as far as memory allows.

    Parameters
    ----------
    detector : VAEAnomalyDetector
        An unfitted detector; it is fitted in place.
    data : dask.dataframe.DataFrame
        Training rows (the columns to use).
    n_rows : int, default=100_000
        Expected sample size; every row is kept with probability
        ``n_rows / len(data)``.
    random_state : int, default=None
        Seed of the sampling.

    Returns
    -------
    VAEAnomalyDetector
        The fitted ``detector``.
    """
    total = (
        int(data.shape[0].compute())
        if not isinstance(data.shape[0], int)
        else data.shape[0]
    )
    if total == 0:
        raise ValueError("The dask DataFrame has no rows to fit on.")
    fraction = min(1.0, n_rows / total)
    sample = (
        data.sample(frac=fraction, random_state=random_state) if fraction < 1 else data
    )
    return detector.fit(sample.compute())


def _low_quantile(scores: Any, q: float) -> float:
    """Exact ``np.quantile(scores, q)`` for small ``q``, from the lowest scores."""
    n = int(scores.count().compute())
    position = (n - 1) * q
    lowest = np.sort(scores.nsmallest(int(position) + 2).compute().to_numpy())
    below = int(np.floor(position))
    above = min(below + 1, len(lowest) - 1)
    return float(lowest[below] + (position - below) * (lowest[above] - lowest[below]))


def offset_from_scores(
    scores: Any,
    method: str = "contamination",
    *,
    contamination: float = 0.01,
    z: float = 3.5,
    risk: float = 1e-4,
    initial_quantile: float = 0.98,
) -> float:
    """Threshold over a whole distributed score set, as an ``offset_``.

    Scores are normality scores (higher = more normal); rows below the
    returned value are anomalies, as with ``VAEAnomalyDetector.offset_``.

    Parameters
    ----------
    scores : dask.dataframe.Series
        Scores from :func:`score`.
    method : {"contamination", "robust_z", "pot"}, default="contamination"
        ``contamination``: the ``contamination`` quantile. ``robust_z``: median
        minus ``z`` * 1.4826 * MAD. ``pot``: Peaks-Over-Threshold at ``risk``
        above the ``initial_quantile`` of anomaly scores; only the tail beyond
        it is collected to fit the Generalised Pareto distribution.
    contamination, z, risk, initial_quantile : float
        Parameters of the methods, as in :mod:`vaeanomaly.thresholds`.

    Returns
    -------
    float

    Notes
    -----
    Tail quantiles (contamination, POT's initial threshold) are exact: the
    lowest ``q * n`` scores are collected with ``nsmallest``, which stays small
    for the tail fractions these methods use. The median and MAD of
    ``robust_z`` use Dask's approximate quantiles (merged per-partition
    percentiles), accurate in the middle of the distribution.
    """
    if method == "contamination":
        return _low_quantile(scores, contamination)
    if method == "robust_z":
        median = float(scores.quantile(0.5).compute())
        deviation = (scores - median).abs()
        mad, mean_ad = dask.compute(deviation.quantile(0.5), deviation.mean())
        return RobustZScoreThreshold.from_deviations(
            median, float(mad), float(mean_ad), z=z
        ).threshold_
    if method == "pot":
        # The initial threshold and the scores below it: POT's tail, in
        # normality scores (its 1 - initial_quantile quantile).
        low = _low_quantile(scores, 1.0 - initial_quantile)
        n = int(scores.count().compute())
        peaks = (low - scores[scores < low]).compute().to_numpy()
        return POTThreshold.from_peaks(
            low, peaks, n, risk=risk, initial_quantile=initial_quantile
        ).threshold_
    raise ValueError(
        f"method must be 'contamination', 'robust_z' or 'pot'; got {method!r}."
    )
