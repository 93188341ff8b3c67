"""The report's plots: each function draws one figure and returns it as SVG text.

Figures are built with :class:`matplotlib.figure.Figure` and saved without
pyplot, so nothing here touches pyplot's global figure list or the user's
backend (a notebook keeps its own). Long series are decimated to the smallest
and largest value of each bucket, which keeps spikes visible and a 10^5-row
series to a few thousand points.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.colors import SymLogNorm
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.scale import SymmetricalLogTransform
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

__all__ = [
    "decimate",
    "heatmap",
    "period_panels",
    "score_histogram",
    "score_timeline",
    "training_curve",
]

#: Points per plotted series at most: two per bucket (its min and max).
MAX_POINTS = 2000
_RC = {
    "svg.fonttype": "none",  # text as <text>, not glyph paths: 5-10x smaller
    "svg.hashsalt": "vaeanomaly-report",  # the same ids in every run
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e5e5",
    "grid.linewidth": 0.6,
}
_LINE = "#2b5c8a"
_FLAG = "#d64541"
_LABEL_CHARS = 28

#: Height in inches of one character of a column name set at 60 degrees.
_NAME_INCHES_PER_CHAR = 0.065
_PLAIN = FuncFormatter(lambda value, _: f"{value:g}")


def label(text: object) -> str:
    """Shorten a column name for a plot, and keep '$' from starting mathtext."""
    text = str(text)
    if len(text) > _LABEL_CHARS:
        text = text[: _LABEL_CHARS - 1] + "\u2026"
    return plain(text)


def plain(text: object) -> str:
    """Text that matplotlib draws as given: a '$' never starts mathtext."""
    return str(text).replace("$", r"\$")


def _figure(
    width: float, height: float, margins: tuple[float, float, float, float] | None
) -> Figure:
    """Make a figure; ``margins`` (left, right, bottom, top, inches) fix its layout.

    Fixed margins suit plots whose labels are ours (numbers, fixed words);
    plots labelled with column names use constrained layout, which sizes the
    margins to the labels but draws the figure twice.
    """
    if margins is None:
        return Figure(figsize=(width, height), layout="constrained")
    fig = Figure(figsize=(width, height))
    left, right, bottom, top = margins
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
    )
    return fig


def _time_axis(ax, x: np.ndarray) -> None:
    """Short date labels (the rest of the date once, in the corner) for datetimes."""
    if np.issubdtype(np.asarray(x).dtype, np.datetime64):
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def decimate(
    x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Shorten a series to at most ``max_points`` points, keeping its extremes.

    The series is cut into ``max_points // 2`` buckets of consecutive points;
    each bucket keeps its smallest and its largest value, in their order, so
    a one-point spike survives where thinning by a stride would drop it.

    Parameters
    ----------
    x : ndarray of shape (n,)
        Positions (numbers or datetimes), in order.
    y : ndarray of shape (n,)
        Values; NaN is ignored within a bucket (an all-NaN bucket keeps one
        NaN, which breaks the plotted line there).
    max_points : int, default=2000
        Most points returned.

    Returns
    -------
    x, y : ndarray
        The kept points, at most ``max_points`` of them.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.zeros(1000); y[321] = 9.0
    >>> xs, ys = decimate(np.arange(1000), y, max_points=10)
    >>> len(ys) <= 10, float(ys.max()), int(xs[ys.argmax()])
    (True, 9.0, 321)
    """
    x, y = np.asarray(x), np.asarray(y, dtype=np.float64)
    n = len(y)
    if n <= max_points:
        return x, y
    n_buckets = max(max_points // 2, 1)
    edges = np.linspace(0, n, n_buckets + 1).astype(int)
    keep = []
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        part = y[start:stop]
        if np.isnan(part).all():
            keep.append(start)
            continue
        low, high = np.nanargmin(part), np.nanargmax(part)
        keep.extend(sorted({start + low, start + high}))
    index = np.asarray(keep)
    return x[index], y[index]


def _symlog_threshold(values: np.ndarray) -> float | None:
    """Return a linear range for a symlog axis if a few values are far out, else None.

    Scores of a handful of glitches can be thousands of nats below the rest;
    on a linear axis the bulk would be one line. The typical range (1st to
    99th percentile) stays linear and only the tail is compressed.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    q01, q99 = np.quantile(finite, [0.01, 0.99])
    typical = max(abs(q01), abs(q99), 1.0)
    if finite.min() < -10 * typical or finite.max() > 10 * typical:
        return float(typical)
    return None


def score_histogram(scores: np.ndarray, offset: float, xlabel: str) -> str:
    """Histogram of the scores (log counts) with the threshold marked.

    ``xlabel`` says what the scores are (``report._SCORE_MEANINGS``).
    """
    scores = np.asarray(scores, dtype=np.float64)
    finite = scores[np.isfinite(scores)]
    fig = _figure(8.0, 2.8, (0.75, 0.2, 0.55, 0.15))
    ax = fig.add_subplot()
    marks = np.r_[finite, offset] if np.isfinite(offset) else finite
    linthresh = _symlog_threshold(marks)
    lo, hi = marks.min(), marks.max()
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    if linthresh is None:
        edges = np.linspace(lo, hi, 61)
    else:
        transform = SymmetricalLogTransform(10, linthresh, 1.0)
        ends = transform.transform(np.array([lo, hi]))
        edges = transform.inverted().transform(np.linspace(*ends, 61))
        ax.set_xscale("symlog", linthresh=linthresh)
    counts, edges = np.histogram(finite, bins=edges)
    ax.stairs(counts, edges, fill=True, color=_LINE, alpha=0.85)
    ax.set_yscale("log")
    ax.set_ylim(0.7, max(counts.max(), 1) * 2)
    ax.yaxis.set_major_formatter(_PLAIN)  # 1, 10, 100 rather than 10^0 ...
    ax.yaxis.set_minor_formatter(NullFormatter())
    if np.isfinite(offset):
        ax.axvspan(lo, offset, color=_FLAG, alpha=0.08, lw=0)
        ax.axvline(
            offset, color=_FLAG, ls="--", lw=1.2, label=f"threshold {offset:.4g}"
        )
        ax.legend(loc="upper left", frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows (log scale)")
    return _svg(fig)


def _spans(flags: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """List runs of flagged positions as (first, last), merging close runs."""
    edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    spans: list[tuple[int, int]] = []
    for start, stop in zip(starts, stops, strict=True):
        if spans and start - spans[-1][1] <= min_gap:
            spans[-1] = (spans[-1][0], int(stop))
        else:
            spans.append((int(start), int(stop)))
    return spans


def _shade(ax, x: np.ndarray, first: int, last: int, **style) -> None:
    right = x[last + 1] if last + 1 < len(x) else x[last]
    ax.axvspan(x[first], right, lw=0, **style)


def score_timeline(
    x: np.ndarray, scores: np.ndarray, offset: float, flags: np.ndarray
) -> str:
    """Score over time, the threshold, and flagged periods shaded."""
    x, scores = np.asarray(x), np.asarray(scores, dtype=np.float64)
    fig = _figure(10.0, 3.0, (0.8, 0.2, 0.45, 0.15))
    ax = fig.add_subplot()
    _time_axis(ax, x)
    min_gap = max(len(x) // (MAX_POINTS // 2), 1)
    for first, last in _spans(np.asarray(flags, dtype=bool), min_gap):
        _shade(ax, x, first, last, color=_FLAG, alpha=0.18)
    xs, ys = decimate(x, scores)
    ax.plot(xs, ys, lw=0.7, color=_LINE)
    marks = np.r_[scores, offset] if np.isfinite(offset) else scores
    if np.isfinite(offset):
        ax.axhline(
            offset, color=_FLAG, ls="--", lw=1.1, label=f"threshold {offset:.4g}"
        )
        ax.legend(loc="lower left", frameon=False)
    linthresh = _symlog_threshold(marks)
    if linthresh is not None:
        ax.set_yscale("symlog", linthresh=linthresh)
    ax.set_ylabel("score (higher = more normal)")
    ax.margins(x=0.01)
    return _svg(fig)


def period_panels(
    x: np.ndarray,
    readings: Mapping[str, np.ndarray],
    ranges: Mapping[str, tuple[float, float]],
    first: int,
    last: int,
) -> str:
    """Plot a period's top channels around it, each against its training range."""
    fig = _figure(10.0, 0.4 + 1.5 * len(readings), None)
    axes = fig.subplots(len(readings), 1, sharex=True, squeeze=False)[:, 0]
    _time_axis(axes[-1], x)
    for ax, (name, values) in zip(axes, readings.items(), strict=True):
        low, high = ranges[name]
        if np.isfinite(low) and np.isfinite(high):
            ax.axhspan(low, high, color="#9a9a9a", alpha=0.18, lw=0)
        _shade(ax, x, first, last, color=_FLAG, alpha=0.15)
        xs, ys = decimate(x, values)
        ax.plot(xs, ys, lw=0.9, color=_LINE)
        ax.set_ylabel(label(name), rotation=0, ha="right", va="center")
    return _svg(fig)


def heatmap(
    matrix: np.ndarray, row_labels: Sequence[str], column_labels: Sequence[str]
) -> str:
    """Per-column contributions of the top rows (nats above the column's median)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    n_rows, n_cols = matrix.shape
    names = [label(c) for c in column_labels]
    # The column names stand at 60 degrees below the map: leave them their
    # height, or with one or two rows long names squeeze the map to nothing.
    name_room = _NAME_INCHES_PER_CHAR * max((len(n) for n in names), default=0)
    height = 1.0 + 0.24 * n_rows + name_room
    fig = _figure(min(2.5 + 0.42 * n_cols, 11.0), height, None)
    ax = fig.add_subplot()
    ax.grid(False)
    cmap = matplotlib.colormaps["Reds"].with_extremes(bad="#d9d9d9")
    top = np.nanmax(matrix) if np.isfinite(matrix).any() else 1.0
    norm = SymLogNorm(linthresh=1.0, vmin=0.0, vmax=max(float(top), 1.0))
    image = ax.imshow(
        np.clip(matrix, 0, None),
        aspect="auto",
        cmap=cmap,
        norm=norm,
        interpolation="nearest",
    )
    ax.set_xticks(
        range(n_cols),
        names,
        rotation=60,
        ha="right",
        rotation_mode="anchor",
    )
    ax.set_yticks(range(n_rows), [label(r) for r in row_labels])
    colorbar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.01)
    colorbar.set_label("nats above usual")
    colorbar.ax.yaxis.set_major_formatter(_PLAIN)
    colorbar.ax.yaxis.set_minor_formatter(NullFormatter())
    return _svg(fig)


def training_curve(history: Sequence[Mapping], best_epoch: int) -> str:
    """Training and validation loss per epoch, the best epoch marked."""
    epochs = np.array([record["epoch"] for record in history])
    fig = _figure(8.0, 2.8, (0.75, 0.2, 0.55, 0.15))
    ax = fig.add_subplot()
    train = np.array([record["train_loss"] for record in history], dtype=np.float64)
    ax.plot(epochs, train, lw=1.2, color=_LINE, label="training")
    valid = [record.get("valid_loss") for record in history]
    if any(v is not None for v in valid):
        valid = np.array([np.nan if v is None else v for v in valid], dtype=np.float64)
        ax.plot(epochs, valid, lw=1.2, color="#e08a1e", label="validation")
        best = valid[best_epoch - 1] if best_epoch - 1 < len(valid) else np.nan
    else:
        best = train[best_epoch - 1] if best_epoch - 1 < len(train) else np.nan
    ax.axvline(best_epoch, color="#555555", ls=":", lw=1)
    if np.isfinite(best):
        ax.plot(
            [best_epoch], [best], "o", color="#555555", label=f"best epoch {best_epoch}"
        )
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss (\u2212ELBO, nats per row)")
    ax.legend(frameon=False)
    return _svg(fig)
