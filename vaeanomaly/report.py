"""One self-contained HTML page about an anomaly run: :func:`write_report`.

The page opens offline: plots are SVG from matplotlib inlined as data URIs,
the CSS is in the page, there is no script, and a Content-Security-Policy
forbids any request. Every name and value from the user's table goes through
Jinja2's autoescaping, and plots are ``<img>`` elements, in which an SVG can
run no script either.

Needs the ``report`` extra: ``pip install "vaeanomaly[report]"``.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from numbers import Real
from pathlib import Path
from typing import Any

try:
    import jinja2
    import matplotlib  # noqa: F401  (imported here to fail early, with the hint)
except ImportError as exc:  # pragma: no cover - tested by hiding the modules
    raise ImportError(
        f"vaeanomaly's HTML report needs the 'report' extra ({exc.name} is not "
        'installed). Install it with: pip install "vaeanomaly[report]".'
    ) from exc

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from vaeanomaly import _report_plots as plots
from vaeanomaly._atomic import atomic_write
from vaeanomaly._version import __version__
from vaeanomaly.sequence import flagged_periods
from vaeanomaly.thresholds import fit_offset, make_threshold

__all__ = ["write_report"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Rows whose contributions set each column's usual level (a random sample).
_BASELINE_ROWS = 2000
#: Columns in the heatmap, at most (those that contribute most to the top rows).
_HEATMAP_COLUMNS = 25
#: Flagged periods whose channels are plotted.
_PERIOD_PLOTS = 3
_CELL_CHARS = 60


def write_report(
    detector: Any,
    X: Any,
    path: str | os.PathLike | None = None,
    *,
    time: Any = None,
    reference: Any = None,
    threshold: Any = None,
    top: int = 20,
    source: str | None = None,
    skipped: Mapping[str, str] | None = None,
) -> str:
    """Score a table and describe the run in one self-contained HTML page.

    The page holds: a summary (rows, columns and how each is used, missing
    cells, the model, the threshold, how many rows are flagged); the score
    distribution with the threshold; the top anomalies, each with the three
    columns that contribute most beside the column's typical value; a heatmap
    of those contributions; and the training curve. For a recording (``time``
    given, or a :class:`~vaeanomaly.sequence.SequenceVAEDetector`) it adds the
    score over time with flagged periods shaded, the top channels around the
    longest periods against their usual range, and a table of periods.

    Parameters
    ----------
    detector : VAEAnomalyDetector or SequenceVAEDetector
        A fitted detector.
    X : array-like of shape (n_samples, n_features)
        The rows to score, with the columns the detector was fitted on. A
        DataFrame's index labels the rows (use row numbers, or identifiers).
    path : str or path-like, default=None
        Where to write the page (atomically, UTF-8). ``None`` writes nothing.
    time : array-like of shape (n_samples,), default=None
        Timestamps (datetimes or numbers) of the rows, in order; they label
        the rows and give the time sections. ``None`` uses ``X``'s index when
        it is a DatetimeIndex.
    reference : array-like of shape (n_reference, n_features), default=None
        Training rows: typical values (median, or most frequent level) and
        usual ranges (1st to 99th percentile) come from them. ``None`` takes
        them from ``X`` itself, and the page says so.
    threshold : float, str or threshold object, default=None
        ``None`` flags rows below the detector's ``offset_``; a float is the
        cut-off itself; a name or an unfitted object from
        :mod:`vaeanomaly.thresholds` is fitted on the scores of ``X``.
    top : int, default=20
        Anomalies listed (the lowest scores among the flagged rows), and
        flagged periods listed.
    source : str, default=None
        Name of the data (e.g. its file) for the summary.
    skipped : mapping of str to str, default=None
        Columns of the data not used as features, each with the reason; shown
        in the summary.

    Returns
    -------
    str
        The HTML page.

    See Also
    --------
    VAEAnomalyDetector.score_features : The contributions shown.
    vaeanomaly.sequence.flagged_periods : The periods shown.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from vaeanomaly import VAEAnomalyDetector, write_report
    >>> X = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)),
    ...                  columns=["a", "b", "c"])
    >>> detector = VAEAnomalyDetector(max_epochs=3, min_steps=0,
    ...                               random_state=0).fit(X)
    >>> page = write_report(detector, X, source="demo")
    >>> page.startswith("<!DOCTYPE html>")
    True
    """
    check_is_fitted(detector)
    facts = _model_facts(detector)
    frame = _as_frame(X, facts["columns"])
    n_rows = len(frame)
    if time is None and isinstance(frame.index, pd.DatetimeIndex):
        time = frame.index
    times = None if time is None else np.asarray(time)
    if times is not None and len(times) != n_rows:
        raise ValueError(
            f"time has {len(times)} values but X has {n_rows} rows. Pass one "
            "timestamp per row."
        )
    # The detector sees X as given (an array stays an array: no feature names).
    data = X if isinstance(X, pd.DataFrame) else np.asarray(X)
    scores = np.asarray(detector.score_samples(data), dtype=np.float64)
    offset, threshold_text = _threshold(threshold, scores, facts)
    flags = scores < offset
    labels = _Labels(times, frame.index)
    positions, excess = _excess(detector, data, flags, facts)
    ref = frame if reference is None else _as_frame(reference, facts["columns"])
    typical = _typical(ref, facts)
    order = np.argsort(scores, kind="stable")
    top_rows = [int(i) for i in order if flags[i]][:top]
    sequential = times is not None or facts["sequence"]
    context = {
        "title": f"Anomaly report: {source}" if source else "Anomaly report",
        "source": source,
        "version": __version__,
        "score_meaning": facts["score_meaning"][0],
        "summary": _summary(frame, facts, skipped, times, scores, flags),
        "model": facts,
        "threshold_text": threshold_text,
        "offset": f"{offset:.4g}",
        "n_flagged": f"{int(flags.sum()):,}",
        "share_flagged": f"{flags.mean():.2%}" if n_rows else "0%",
        "typical_from": "training data" if reference is not None else "this data",
        "row_word": "time" if times is not None else "row",
        "row_noun": "timestamp" if times is not None else "row",
        "anomalies": _anomaly_rows(
            top_rows, labels, scores, offset, frame, positions, excess, typical, facts
        ),
        "top": top,
        "plots": {
            "histogram": _uri(
                plots.score_histogram(scores, offset, facts["score_meaning"][1])
            ),
            "training": _uri(
                plots.training_curve(facts["history"], facts["best_epoch"])
            ),
        },
    }
    if top_rows:
        context["plots"]["heatmap"] = _heatmap(
            top_rows, labels, positions, excess, facts["columns"]
        )
    if sequential:
        x = times if times is not None else np.arange(n_rows)
        context["plots"]["timeline"] = _uri(
            plots.score_timeline(x, scores, offset, flags)
        )
        context["periods"] = _periods(
            flags, x, labels, frame, positions, excess, typical, facts, top
        )
    page = _environment().get_template("report.html.j2").render(context)
    if path is not None:
        with atomic_write(path, "wb") as handle:
            handle.write(page.encode("utf-8"))
    return page


class _Labels:
    """Row labels (formatted times, or index values), made only when asked for."""

    def __init__(self, times: np.ndarray | None, index: pd.Index) -> None:
        self.times, self.index = times, index

    def __getitem__(self, row: int) -> str:
        if self.times is not None:
            return _format_time(self.times[row])
        return str(self.index[row])


def _model_facts(detector: Any) -> dict:
    """Return what the page says about the model, from its ``describe()``."""
    facts = detector.describe()
    heads = {
        h: facts["likelihoods"].count(h) for h in dict.fromkeys(facts["likelihoods"])
    }
    sequence = facts["window"] is not None
    best_elbo = facts["best_elbo"]
    return {
        "sequence": sequence,
        "window": facts["window"],
        "level_window": facts["level_window"],
        "ar_order": facts["ar_order"],
        "columns": facts["columns"],
        "kinds": facts["column_kinds"],
        "categorical": [levels is not None for levels in facts["categories"]],
        "heads": ", ".join(f"{h} \u00d7 {n}" for h, n in heads.items()),
        "network": f"hidden layers of {', '.join(map(str, facts['hidden_dims']))} "
        f"units, latent dimension {facts['latent_dim']}",
        "n_members": facts["n_members"],
        "n_parameters": f"{facts['n_parameters']:,}",
        "score_method": f"{facts['score_method']} with {facts['n_draws']} draws",
        "score_meaning": _SCORE_MEANINGS[facts["score_method"]],
        "n_trained": f"{facts['n_samples_fit']:,}",
        "n_trimmed": facts["n_trimmed"],
        "history": facts["history"],
        "epochs": facts["n_iter"],
        "best_epoch": facts["best_epoch"],
        "best_elbo": "n/a" if best_elbo is None else f"{best_elbo:.4f}",
        "offset": facts["offset"],
        "threshold": facts["threshold_method"],
        "threshold_rule": facts["threshold_rule"],
    }


def _as_frame(X: Any, columns: list[str]) -> pd.DataFrame:
    """Return ``X`` as a DataFrame for display, its columns named as the model's."""
    if not isinstance(X, pd.DataFrame):
        values = np.asarray(X)
        return pd.DataFrame(values, columns=columns[: values.shape[1]])
    names = [str(c) for c in X.columns]
    if names != list(columns) and len(names) == len(columns):
        names = list(columns)  # e.g. integer column names, which the model calls x0..
    return X.set_axis(names, axis=1)


def _threshold(threshold: Any, scores: np.ndarray, facts: dict) -> tuple[float, str]:
    if threshold is None:
        return facts["offset"], facts["threshold_rule"]
    if isinstance(threshold, Real):
        return float(threshold), "a fixed cut-off"
    method = make_threshold(
        threshold if isinstance(threshold, str) else clone(threshold)
    )
    return fit_offset(method, scores), f"{method!r}, fitted on these scores"


def _excess(
    detector: Any, data: Any, flags: np.ndarray, facts: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (positions) and their contributions above each column's usual level.

    A sequence detector's blame is already relative to normal times and needs
    the whole series. For a table, the contributions of the flagged rows and
    of a sample are computed, and each column's median over the sample is
    subtracted: a column that always costs many nats is not blamed for it.
    """
    if facts["sequence"]:
        blame = np.asarray(detector.score_features(data), dtype=np.float64)
        return np.arange(len(data)), blame
    n = len(data)
    rng = np.random.default_rng(0)
    sample = rng.choice(n, size=min(n, _BASELINE_ROWS), replace=False)
    positions = np.union1d(sample, np.flatnonzero(flags))
    contributions = np.asarray(
        detector.score_features(
            data.iloc[positions] if hasattr(data, "iloc") else data[positions]
        ),
        dtype=np.float64,
    )
    in_sample = np.isin(positions, sample)
    with np.errstate(all="ignore"):
        baseline = np.nanmedian(contributions[in_sample], axis=0)
    return positions, contributions - np.nan_to_num(baseline)


def _typical(ref: pd.DataFrame, facts: dict) -> dict:
    """Per column: the typical value (median or top level) and the usual range."""
    out = {}
    for name, categorical in zip(facts["columns"], facts["categorical"], strict=True):
        column = ref[name] if name in ref.columns else ref.iloc[:, len(out)]
        if categorical:
            counts = column.dropna().astype(str).value_counts()
            out[name] = (counts.index[0] if len(counts) else "", (np.nan, np.nan))
            continue
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            out[name] = ("", (np.nan, np.nan))
            continue
        low, high = np.quantile(values, [0.01, 0.99])
        out[name] = (_format_value(np.median(values)), (float(low), float(high)))
    return out


def _summary(frame, facts, skipped, times, scores, flags) -> dict:
    columns = facts["columns"]
    missing = frame[columns].isna().to_numpy()
    rows = [
        {"name": name, "kind": kind, "missing": f"{int(gaps):,}"}
        for name, kind, gaps in zip(
            columns, facts["kinds"], missing.sum(axis=0), strict=True
        )
    ]
    kinds = pd.Series([k.split(" ")[0] for k in facts["kinds"]]).value_counts()
    span = None
    if times is not None and len(times):
        span = f"{_format_time(times[0])} to {_format_time(times[-1])}"
    return {
        "n_rows": f"{len(frame):,}",
        "n_columns": len(columns),
        "kinds": ", ".join(f"{n} {k}" for k, n in kinds.items()),
        "columns": rows,
        "skipped": [{"name": k, "why": v} for k, v in (skipped or {}).items()],
        "missing": f"{int(missing.sum()):,}",
        "missing_share": f"{missing.mean():.2%}" if missing.size else "0%",
        "span": span,
        "score_range": f"{np.nanmin(scores):.4g} to {np.nanmax(scores):.4g}",
    }


def _anomaly_rows(
    top_rows, labels, scores, offset, frame, positions, excess, typical, facts
) -> list[dict]:
    where = {int(p): i for i, p in enumerate(positions)}
    rows = []
    for row in top_rows:
        blame = excess[where[row]]
        order = np.argsort(-np.nan_to_num(blame, nan=-np.inf), kind="stable")[:3]
        rows.append(
            {
                "label": labels[row],
                "score": f"{scores[row]:.4g}",
                "margin": f"{offset - scores[row]:.4g}",
                "columns": [
                    {
                        "name": facts["columns"][j],
                        "value": _format_value(frame[facts["columns"][j]].iloc[row]),
                        "typical": typical[facts["columns"][j]][0],
                        "excess": _format_excess(blame[j]),
                    }
                    for j in order
                ],
            }
        )
    return rows


def _heatmap(top_rows, labels, positions, excess, columns) -> str:
    where = {int(p): i for i, p in enumerate(positions)}
    matrix = excess[[where[row] for row in top_rows]]
    strength = np.nan_to_num(matrix, nan=-np.inf).max(axis=0)
    chosen = np.argsort(-strength, kind="stable")[:_HEATMAP_COLUMNS]
    return _uri(
        plots.heatmap(
            matrix[:, chosen],
            [labels[row] for row in top_rows],
            [columns[j] for j in chosen],
        )
    )


def _periods(flags, x, labels, frame, positions, excess, typical, facts, top) -> dict:
    """Describe the flagged periods: a table of the longest, plots of the first few."""
    periods = flagged_periods(flags)
    where = {int(p): i for i, p in enumerate(positions)}
    longest = periods.sort_values(["length", "start"], ascending=[False, True])
    rows, panels = [], []
    for rank, period in enumerate(longest.itertuples()):
        if rank >= top and rank >= _PERIOD_PLOTS:
            break
        inside = [where[p] for p in range(period.start, period.end + 1) if p in where]
        totals = np.nansum(excess[inside], axis=0) if inside else np.zeros(0)
        channels = [facts["columns"][j] for j in np.argsort(-totals, kind="stable")[:3]]
        if rank < top:
            rows.append(
                {
                    "start": labels[period.start],
                    "end": labels[period.end],
                    "length": f"{period.length:,}",
                    "channels": channels,
                    "order": period.start,
                }
            )
        if rank < _PERIOD_PLOTS:
            panels.append(_period_plot(period, x, labels, frame, channels, typical))
    rows.sort(key=lambda r: r["order"])
    return {"n": len(periods), "rows": rows, "panels": panels}


def _period_plot(period, x, labels, frame, channels, typical) -> dict:
    numeric = [c for c in channels if np.isfinite(typical[c][1][0])]
    pad = max(3 * period.length, 30)
    lo, hi = max(period.start - pad, 0), min(period.end + pad + 1, len(frame))
    readings = {
        c: pd.to_numeric(frame[c].iloc[lo:hi], errors="coerce").to_numpy(float)
        for c in numeric
    }
    title = f"{labels[period.start]} to {labels[period.end]} ({period.length} rows)"
    svg = None
    if readings:
        svg = _uri(
            plots.period_panels(
                x[lo:hi],
                readings,
                {c: typical[c][1] for c in numeric},
                period.start - lo,
                period.end - lo,
            )
        )
    return {"title": title, "plot": svg, "channels": channels}


def _uri(svg: str) -> str:
    """Wrap an SVG in a data URI for an ``<img>`` (where it can run no script)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _format_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(missing)"
    if isinstance(value, Real) and not isinstance(value, bool):
        return f"{float(value):.4g}"
    text = str(value)
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "\u2026"


_LOG_LIKELIHOOD_AXIS = "score (log-likelihood, nats; higher = more normal)"

#: What the scores of each ``score_method`` are: the page's sentence, the
#: histogram's axis.
_SCORE_MEANINGS = {
    "elbo": (
        "log-likelihoods under the model (the ELBO, a lower bound on log p(x))",
        _LOG_LIKELIHOOD_AXIS,
    ),
    "iwae": (
        "log-likelihoods under the model (the importance-weighted bound)",
        _LOG_LIKELIHOOD_AXIS,
    ),
    "recon_prob": (
        "log-likelihoods under the model (An & Cho's reconstruction probability)",
        _LOG_LIKELIHOOD_AXIS,
    ),
    "recon_error": (
        "minus the squared error of each row's reconstruction",
        "score (minus squared error; higher = more normal)",
    ),
    "rarest_value": (
        "the log-probability of each row's rarest value under its column's "
        "marginal (a log-density for a number)",
        "score (log-probability of the rarest value, nats; higher = more normal)",
    ),
}


def _format_excess(value: float) -> str:
    """Nats above the column's usual contribution, signed (+1.2, -0.05)."""
    if np.isnan(value):
        return "(missing)"
    return f"{float(value):+.4g}"


def _format_time(value: Any) -> str:
    if isinstance(value, np.datetime64 | pd.Timestamp):
        stamp = pd.Timestamp(value)
        return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)
    return _format_value(value)


def _environment() -> jinja2.Environment:
    """Jinja2 with autoescaping on: every value is HTML-escaped unless marked safe."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
