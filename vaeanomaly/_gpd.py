"""Generalised Pareto fitting for the Peaks-Over-Threshold methods (private).

Helpers for :mod:`vaeanomaly.thresholds`; numpy only. The maximum-likelihood
fit follows Grimshaw (1993), as used by Siffer et al., "Anomaly Detection in
Streams with Extreme Value Theory", KDD 2017: with ``x = shape / scale`` the
two-parameter likelihood equations reduce to the roots of one function,

    w(x) = u(x) v(x) - 1,  u(x) = mean(1 / (1 + x Y)),  v(x) = 1 + mean(log(1 + x Y)),

which lie in ``(-1 / max(Y), 0)`` or ``(0, 2 (mean(Y) - min(Y)) / min(Y)**2]``.
Each root gives ``shape = v(x) - 1`` and ``scale = shape / x``. The roots are
bracketed on a dense log-spaced grid and refined by bisection; together with
the exponential case (``shape = 0``, ``scale = mean(Y)``) the candidate with
the highest log-likelihood wins.
"""

import numpy as np

_GRID_POINTS = 80  # grid points per sub-interval
_BISECTION_STEPS = 48  # each halves a bracket: 2**-48 of a grid step
_NEAR_ZERO = 1e-6  # |x| * mean(Y) below this is the exponential case
_SHAPE_ZERO = 1e-12  # |shape| below this uses the exponential quantile
_MAX_ELEMENTS = 2**22  # largest grid-by-peaks temporary (32 MiB of float64)


def _grimshaw_w(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return ``u(x) v(x) - 1`` for each entry of ``x`` (peaks ``y``)."""
    rows = max(1, _MAX_ELEMENTS // y.size)  # bound the (len(x), len(y)) temporary
    out = np.empty(len(x))
    for start in range(0, len(x), rows):
        xy = np.multiply.outer(x[start : start + rows], y)
        u = np.mean(1.0 / (1.0 + xy), axis=-1)
        v = 1.0 + np.mean(np.log1p(xy), axis=-1)
        out[start : start + rows] = u * v - 1.0
    return out


def _find_roots(y: np.ndarray, grids: list[np.ndarray]) -> np.ndarray:
    """Bracket the sign changes of ``w`` on each grid, then bisect them together."""
    lo, hi, sign_lo = [], [], []
    for grid in grids:
        sign = np.sign(_grimshaw_w(grid, y))
        idx = np.flatnonzero(sign[:-1] * sign[1:] <= 0)
        lo.append(grid[idx])
        hi.append(grid[idx + 1])
        sign_lo.append(sign[idx])
    lo, hi, sign_lo = map(np.concatenate, (lo, hi, sign_lo))
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        go_right = np.sign(_grimshaw_w(mid, y)) == sign_lo
        lo = np.where(go_right, mid, lo)
        hi = np.where(go_right, hi, mid)
    return 0.5 * (lo + hi)


def gpd_log_likelihood(excesses: np.ndarray, shape: float, scale: float) -> float:
    """Return the Generalised Pareto log-likelihood of ``excesses`` (all > 0).

    The density is ``(1 / scale) (1 + shape y / scale) ** (-1 / shape - 1)``,
    and ``exp(-y / scale) / scale`` when ``shape == 0``.
    """
    y = np.asarray(excesses, dtype=np.float64)
    if shape == 0.0:
        return float(-y.size * np.log(scale) - y.sum() / scale)
    z = 1.0 + shape * y / scale
    if np.any(z <= 0.0):
        return -np.inf
    return float(-y.size * np.log(scale) - (1.0 + 1.0 / shape) * np.log(z).sum())


def fit_gpd(excesses: np.ndarray) -> tuple[float, float]:
    """Fit a Generalised Pareto distribution by maximum likelihood (Grimshaw).

    Parameters
    ----------
    excesses : ndarray of shape (n_peaks,)
        Positive excesses ``X[X > t] - t`` over the initial threshold ``t``.

    Returns
    -------
    shape : float
        Shape ``gamma`` (0 for the exponential tail, > 0 for heavy tails,
        < 0 for bounded tails).
    scale : float
        Scale ``sigma`` > 0.
    """
    y_raw = np.asarray(excesses, dtype=np.float64)
    mean = y_raw.mean()
    y = y_raw / mean  # the fit is scale-equivariant; work with mean(y) = 1
    y_min, y_max = y.min(), y.max()
    # Negative side x = -r / y_max for r in (0, 1), dense near both ends.
    r = np.concatenate(
        [
            np.geomspace(_NEAR_ZERO, 0.5, _GRID_POINTS),
            1.0 - np.geomspace(0.5, 1e-10, _GRID_POINTS)[1:],
        ]
    )
    grids = [-r / y_max]
    upper = 2.0 * (1.0 - y_min) / y_min**2
    if upper > _NEAR_ZERO:
        grids.append(np.geomspace(_NEAR_ZERO, upper, 2 * _GRID_POINTS))
    roots = _find_roots(y, grids)
    shapes = [0.0] + [float(np.mean(np.log1p(x * y))) for x in roots]
    scales = [1.0] + [s / x for s, x in zip(shapes[1:], roots, strict=True)]
    ll = [
        gpd_log_likelihood(y, s, c) if c > 0 else -np.inf
        for s, c in zip(shapes, scales, strict=True)
    ]
    best = int(np.argmax(ll))
    return float(shapes[best]), float(scales[best] * mean)


def gpd_tail_quantile(
    initial_threshold: float,
    shape: float,
    scale: float,
    risk: float,
    n_scores: int,
    n_peaks: int,
) -> float:
    """Return the POT threshold ``z_q`` exceeded with probability ``risk``.

    ``z_q = t + scale / shape * ((risk * n / N_t) ** -shape - 1)``, or
    ``t - scale * log(risk * n / N_t)`` when ``shape == 0`` (Siffer et al.,
    eq. (1)), computed with ``expm1`` so small shapes lose no precision.
    """
    log_r = np.log(risk * n_scores / n_peaks)
    if abs(shape) < _SHAPE_ZERO:
        return float(initial_threshold - scale * log_r)
    return float(initial_threshold + scale * np.expm1(-shape * log_r) / shape)
