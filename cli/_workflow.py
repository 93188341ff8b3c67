"""Steps the commands share: fit from a table, score a file chunk by chunk."""

from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.cli._errors import CLIError
from vaeanomaly.sequence import SequenceVAEDetector
from vaeanomaly.tables import (
    check_columns,
    choose_features,
    drop_empty_rows,
    iter_csv,
    line_of,
    looks_like_dates,
    number_format,
    to_frame,
)


def progress_bar(length: int, label: str, quiet: bool):
    """Return a progress display on stderr for ``length`` steps.

    click's bar on a terminal; elsewhere (a log file, a CI job) a few lines,
    as click's hidden bar would print its label again at every change, which
    is every epoch for the training bar; nothing when ``quiet``.
    """
    if quiet:
        return click.progressbar(length=length, label=label, file=_Null())
    if not sys.stderr.isatty():
        return _ProgressLines(length, label)
    return click.progressbar(length=length, label=label, file=sys.stderr)


class _ProgressLines:
    """Progress as lines on stderr: at the start, every tenth, and at the end.

    Takes the part of click's progress bar that ``fit_table`` uses:
    ``label``, ``pos``, ``length``, ``update`` and the ``with`` block.
    """

    def __init__(self, length: int, label: str, lines: int = 10) -> None:
        self.length, self.label, self.pos = max(length, 1), label, 0
        self._step = self.length / lines
        self._next = self._step

    def __enter__(self) -> _ProgressLines:
        self._echo()
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def update(self, steps: int) -> None:
        """Advance by ``steps``; print a line on crossing a tenth, or at the end."""
        before, self.pos = self.pos, min(self.pos + steps, self.length)
        if (self.pos == self.length and before < self.length) or self.pos >= self._next:
            self._echo()
        while self._next <= self.pos:
            self._next += self._step

    def _echo(self) -> None:
        click.echo(f"{self.label} {self.pos / self.length:.0%}", err=True)


class _Null:
    def write(self, _):
        pass

    def flush(self):
        pass

    def isatty(self):
        return False


def inner_model(detector: Any) -> VAEAnomalyDetector:
    """Return the VAEAnomalyDetector inside a (possibly sequence) detector."""
    return detector.detector_ if isinstance(detector, SequenceVAEDetector) else detector


def feature_names(detector: Any) -> list[str]:
    """Return the columns a fitted detector reads (channels for sequence models)."""
    if isinstance(detector, SequenceVAEDetector):
        return list(detector.channels_)
    return [str(c) for c in detector.feature_names_in_]


def model_categories(detector: Any) -> tuple[list[str], list[str]]:
    """Return the model's categorical columns, and those of them to read as text.

    Levels learnt from a CSV file are text; a model fitted in Python may have
    numeric levels, and then the column is read as pandas parses it.
    """
    inner = inner_model(detector)
    names = feature_names(detector)
    if isinstance(detector, SequenceVAEDetector):
        return [], []
    categories = inner.schema_.categories_
    categorical = [n for n, lv in zip(names, categories, strict=True) if lv is not None]
    text = [
        name
        for name, levels in zip(names, categories, strict=True)
        if levels is not None and all(isinstance(v, str) for v in levels)
    ]
    return categorical, text


def model_frame(detector: Any, frame: pd.DataFrame, source: Path) -> pd.DataFrame:
    """Return the model's feature columns of ``frame``, checked and converted."""
    names = feature_names(detector)
    check_columns(frame, names, source)
    categorical, _ = model_categories(detector)
    allow_nan = (
        isinstance(detector, SequenceVAEDetector)
        or inner_model(detector).missing == "mask"
    )
    return to_frame(frame, names, source, categorical=categorical, allow_nan=allow_nan)


def summarise(names: list[str], first: int = 8) -> str:
    """Join names for a message, the first few and a count of the rest.

    Examples
    --------
    >>> summarise(["a", "b", "c"], first=2)
    'a, b and 1 more'
    """
    names = [str(n) for n in names]
    if len(names) <= first:
        return ", ".join(names)
    return f"{', '.join(names[:first])} and {len(names) - first:,} more"


def output_names(features: list[str], detect: bool, features_wanted: bool) -> list[str]:
    """Return the columns a run adds to its output, besides the copied ones."""
    names = ["score"] + (["is_anomaly"] if detect else [])
    return names + ([f"contrib_{name}" for name in features] if features_wanted else [])


def check_output_names(keys: list[str], added: list[str], source: Path) -> None:
    """Refuse input columns that the output would overwrite with its own columns."""
    clash = [str(key) for key in keys if str(key) in set(added)]
    if clash:
        where = "standard input" if str(source) == "-" else f"'{source}'"
        raise CLIError(
            f"Column(s) {clash} of {where} would be replaced by the output column(s) "
            "of the same name (the output copies every column that is not a "
            "feature, then adds its own). Rename them in the file, e.g. to "
            f"'{clash[0]}_input'."
        )


def report_empty_rows(rows: list[int], count: int, source: Path, quiet: bool) -> None:
    """Say on stderr that rows with no value in any feature were left out."""
    if not count or quiet:
        return
    where = "standard input" if str(source) == "-" else f"'{source}'"
    shown = ", ".join(str(line_of(row)) for row in rows[:5])
    shown += ", ..." if count > 5 else ""
    click.echo(
        f"Warning: skipped {count:,} row(s) of {where} with no value in any feature "
        f"column (line {shown}; line 1 is the header). They are not in the output.",
        err=True,
    )


def check_time_order(frame: pd.DataFrame, time_col: str | None, source: Path) -> None:
    """Raise unless ``time_col`` exists and its values never go back in time."""
    if time_col is None:
        return
    if time_col not in frame.columns:
        raise CLIError(
            f"--time-col '{time_col}' is not a column of '{source}', whose columns "
            f"are {list(map(str, frame.columns))}. Name the time column."
        )
    # utc=True: ISO stamps whose offset changes (+01:00, then +02:00 after a DST
    # change) compare on one clock; the output keeps the original text.
    values = pd.to_datetime(frame[time_col], errors="coerce", format="mixed", utc=True)
    if values.isna().any():  # not dates: numbers such as seconds, or broken
        values = pd.to_numeric(frame[time_col], errors="coerce")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise CLIError(
            f"--time-col '{time_col}' of '{source}' holds "
            f"{frame[time_col].iloc[row]!r} on line {line_of(frame.index[row])}, "
            "which is neither a date nor a number. Fix or drop that row."
        )
    stamps = values.to_numpy()
    backwards = np.flatnonzero(stamps[1:] < stamps[:-1])
    if len(backwards):
        row = int(backwards[0]) + 1
        raise CLIError(
            f"Rows of '{source}' are not in time order: '{time_col}' goes back on "
            f"line {line_of(frame.index[row])} ({frame[time_col].iloc[row]!r}). Sort "
            f"the file by '{time_col}' first."
        )


#: Share of a recording, from its start, that a windowed self-fit learns when
#: neither --train-rows nor --train-until names the stretch.
DEFAULT_TRAIN_SHARE = 1 / 3


def training_stretch(
    frame: pd.DataFrame,
    source: Path,
    *,
    time_col: str | None,
    train_rows: int | None,
    train_until: str | None,
    window: int | None,
) -> tuple[int, str]:
    """Return how many leading rows a self-fit learns from, and why, in words.

    A recording whose anomalies fill a third of it, learnt whole, teaches the
    model its anomalies, and a threshold from its end is set among them. With
    --window, the default is to learn the start of the recording and flag
    what differs from it; --train-rows and --train-until name the stretch.
    """
    n = len(frame)
    if train_rows is not None and train_until is not None:
        raise click.UsageError(
            "--train-rows and --train-until both name the training stretch; "
            "pass one of them."
        )
    if train_until is not None:
        if time_col is None:
            raise click.UsageError(
                "--train-until needs --time-col, the column it compares TIME with."
            )
        stamps = _as_times(frame[time_col])
        try:
            until = (
                pd.Timestamp(train_until)
                if pd.api.types.is_datetime64_any_dtype(stamps)
                else float(train_until)
            )
        except ValueError as exc:
            raise CLIError(
                f"--train-until {train_until!r} is not a value of the kind in "
                f"'{time_col}' (e.g. {frame[time_col].iloc[0]!r})."
            ) from exc
        rows = int((stamps <= until).sum())
        why = f"--train-until {train_until}"
    elif train_rows is not None:
        rows, why = min(train_rows, n), f"--train-rows {train_rows}"
    elif window is not None:
        rows = int(np.ceil(n * DEFAULT_TRAIN_SHARE))
        why = (
            "the first third, the default with --window: the model learns the "
            "start of the recording and flags what differs from it; pass "
            "--train-rows N or --train-until TIME to name a stretch known to be "
            "normal"
        )
    else:
        return n, "all rows"
    least = max(50, 10 * (window or 1))
    if rows < least:
        raise CLIError(
            f"The training stretch of '{source}' ({why}) holds {rows} row(s); a "
            f"model{f' with --window {window}' if window else ''} needs at least "
            f"{least}. Pass a larger --train-rows or a later --train-until, or a "
            "model fitted on a normal recording with --model."
        )
    return rows, why


def _as_times(values: pd.Series) -> pd.Series:
    """Read a time column as dates, or as numbers when they are not dates."""
    stamps = pd.to_datetime(values, errors="coerce", format="mixed")
    if stamps.isna().any():
        stamps = pd.to_numeric(values, errors="coerce")
    return stamps


def threshold_text(detector: Any) -> str:
    """Say in words how a fitted detector's threshold was set."""
    inner = inner_model(detector)
    method = inner.threshold_
    params = method.get_params() if hasattr(method, "get_params") else {}
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    rule = f"{type(method).__name__}({shown})"  # every parameter, defaults too
    if isinstance(detector, SequenceVAEDetector):
        n_fit = inner.n_samples_fit_
        if detector.n_calibration_ < n_fit:
            return (
                f"{rule} on the scores of the last {detector.n_calibration_:,} "
                f"training rows, from a second model fitted on the "
                f"{n_fit - detector.n_calibration_:,} before them"
            )
    return f"{rule} on the scores of the {inner.n_samples_fit_:,} training rows"


def fit_table(
    frame: pd.DataFrame,
    source: Path,
    *,
    columns,
    exclude,
    keys: list[str],
    categorical,
    params: dict,
    threshold,
    window: int | None,
    quiet: bool,
    output_names: Any = None,
) -> Any:
    """Fit a detector (a sequence detector when ``window``) with a progress bar.

    ``output_names(features)``, when given, lists the columns a scoring run
    will add; input columns copied to the output must not clash with them,
    which is checked here, before the training.
    """
    features, categories, skipped = choose_features(
        frame,
        columns=columns,
        exclude=exclude,
        keys=keys,
        categorical=categorical,
        source=source,
    )
    numbers = {c: number_format(frame[c]) for c in skipped}
    numbers = {c: option for c, option in numbers.items() if option}
    dates = [c for c in skipped if c not in numbers and looks_like_dates(frame[c])]
    many = [c for c in skipped if c not in dates and c not in numbers]
    if numbers and not quiet:
        click.echo(
            "Not used as features: "
            + summarise([f"{c} (numbers written as text)" for c in numbers])
            + f". To read them as numbers, pass {next(iter(numbers.values()))}.",
            err=True,
        )
    if many and not quiet:
        click.echo(
            f"Not used as features (text with too many distinct values to be "
            f"categories): {summarise(many)}. Name them with --categorical to "
            "model them anyway.",
            err=True,
        )
    if dates and not quiet:
        click.echo(
            "Not used as features: "
            + summarise([f"{c} (dates or times)" for c in dates])
            + ". Name them with --categorical or --columns to model them anyway; "
            "--time-col marks the time column of a recording.",
            err=True,
        )
    if window is not None and categories:
        raise CLIError(
            f"--window takes numeric sensor channels only, but {categories} hold "
            "categories. Leave them out with --exclude, or drop --window."
        )
    if output_names is not None:
        index_col = keys[0] if keys else None
        check_output_names(
            key_columns(frame, features, index_col), output_names(features), source
        )
    allow_nan = window is not None or params.get("missing", "mask") == "mask"
    if window is None:
        frame, empty = drop_empty_rows(frame, features)
        report_empty_rows(empty, len(empty), source, quiet)
    X = to_frame(frame, features, source, categorical=categories, allow_nan=allow_nan)
    model = VAEAnomalyDetector(**params, categorical_features=categories or None)
    if threshold is not None:
        model.set_params(threshold=threshold)
    detector = model if window is None else SequenceVAEDetector(window, detector=model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        passes = 1 if model.trim is None else 2  # a second fit after trimming
        with progress_bar(passes * model.max_epochs, "training", quiet) as bar:
            detector.fit(X, callback=lambda record: _advance(bar, record, passes))
            bar.update(bar.length - bar.pos)  # early stopping: end at 100%
    if not quiet:
        for warning in caught:
            click.echo(f"Warning: {warning.message}", err=True)
        fitted = inner_model(detector)
        best = fitted.history_[fitted.best_epoch_ - 1]
        loss = (
            best["valid_loss"] if best["valid_loss"] is not None else best["train_loss"]
        )
        shape = f"windows of {window} readings of " if window else ""
        kinds = f"; as categories: {summarise(categories)}" if categories else ""
        click.echo(
            f"Trained on {len(X):,} rows x {len(features)} columns, {shape}"
            f"({summarise(features)}{kinds}) in {fitted.n_iter_} epochs; best "
            f"validation ELBO {-loss:.3f} nats/row{_trimmed_text(fitted)}.",
            err=True,
        )
        click.echo(f"Threshold: {threshold_text(detector)}.", err=True)
    return detector


def _advance(bar, record: dict, passes: int) -> None:
    """Move the training bar one epoch and show the epoch and its ELBO."""
    loss = record.get("valid_loss")
    kind = "validation"
    if loss is None:
        loss, kind = record.get("train_loss"), "training"
    fit_pass = f"pass {record['fit_pass']}/{passes}, " if passes > 1 else ""
    if loss is not None:
        bar.label = (
            f"training ({fit_pass}epoch {record.get('epoch')}, {kind} ELBO {-loss:.3f})"
        )
    bar.update(1)


def _trimmed_text(fitted: VAEAnomalyDetector) -> str:
    n = getattr(fitted, "n_trimmed_", 0)
    if not n:
        return ""
    return (
        f"; {n:,} row(s) that a first fit found least likely were left out of the "
        "final fit (trim)"
    )


def score_table(
    detector: Any,
    frame: pd.DataFrame,
    source: Path,
    *,
    index_col: str | None,
    offset: float | None,
    features_wanted: bool,
    detect: bool = False,
    quiet: bool = False,
    findings: Findings | None = None,
) -> pd.DataFrame:
    """Score a whole table at once (sequence models need the whole series)."""
    names = feature_names(detector)
    check_output_names(
        key_columns(frame, names, index_col),
        output_names(names, detect or offset is not None, features_wanted),
        source,
    )
    if not isinstance(detector, SequenceVAEDetector):  # sequences fill gaps
        check_columns(frame, names, source)
        frame, empty = drop_empty_rows(frame, names)
        report_empty_rows(empty, len(empty), source, quiet)
    X = model_frame(detector, frame, source)
    if index_col is not None and isinstance(detector, SequenceVAEDetector):
        X.index = pd.Index(frame[index_col].to_numpy(), name=index_col)  # for drift
    contributions = np.asarray(detector.score_features(X)) if features_wanted else None
    scores = detector.score_samples(X)
    if findings is not None:
        findings.hold(X, frame, scores)
    return output_frame(
        frame,
        key_columns(frame, names, index_col),
        scores,
        offset=offset,
        contributions=contributions,
        features=names,
    )


def key_columns(
    frame: pd.DataFrame, features: list[str], index_col: str | None
) -> list[str]:
    """Columns copied to the output: the index column, then every non-feature column."""
    keys = [index_col] if index_col else []
    return keys + [c for c in frame.columns if c not in features and c not in keys]


def output_frame(
    chunk: pd.DataFrame,
    keys: list[str],
    scores: np.ndarray,
    *,
    offset: float | None = None,
    contributions: np.ndarray | None = None,
    features: list[str] = (),
) -> pd.DataFrame:
    """Assemble one output chunk: keys (or row numbers), score, flags, contributions."""
    out = chunk[keys].copy() if keys else pd.DataFrame({"row": chunk.index.to_numpy()})
    out = out.reset_index(drop=True)
    out["score"] = scores
    if offset is not None:
        out["is_anomaly"] = (scores < offset).astype(int)
    if contributions is not None:  # one concat: column by column fragments pandas
        contrib = pd.DataFrame(
            np.asarray(contributions),
            columns=[f"contrib_{name}" for name in features],
        )
        out = pd.concat([out, contrib], axis=1)
    return out


def scored_chunks(
    detector: VAEAnomalyDetector,
    source: Path,
    *,
    sep,
    chunksize: int,
    index_col,
    features_wanted: bool,
    offset: float | None,
    quiet: bool,
    findings: Findings | None = None,
) -> Iterator[pd.DataFrame]:
    """Score a CSV file chunk by chunk; memory is bounded by ``chunksize``."""
    features = [str(c) for c in detector.feature_names_in_]
    _, text = model_categories(detector)
    total = 0
    added = output_names(features, offset is not None, features_wanted)
    empty: list[int] = []
    n_empty = 0
    from vaeanomaly.cli._options import csv_format

    chunks = iter_csv(
        source, sep=sep, chunksize=chunksize, text_columns=text, **csv_format()
    )
    for chunk in chunks:
        keys = key_columns(chunk, features, index_col)
        check_output_names(keys, added, source)
        check_columns(chunk, features, source)
        chunk, dropped = drop_empty_rows(chunk, features)
        n_empty += len(dropped)
        empty += dropped[: 5 - len(empty)] if len(empty) < 5 else []
        if chunk.empty:
            continue
        X = model_frame(detector, chunk, source)
        contributions = (
            detector.score_features(X).to_numpy() if features_wanted else None
        )
        scores = detector.score_samples(X)
        if findings is not None:
            findings.add(X, chunk, scores)
        yield output_frame(
            chunk,
            keys,
            scores,
            offset=offset,
            contributions=contributions,
            features=features,
        )
        total += len(chunk)
        if not quiet and sys.stderr.isatty():
            click.echo(f"\rscored {total:,} rows", err=True, nl=False)
    if not quiet and sys.stderr.isatty():
        click.echo("", err=True)
    report_empty_rows(empty, n_empty, source, quiet)


@contextmanager
def rereadable(source: Path) -> Iterator[Path]:
    """Yield a path that can be read twice: stdin is spooled to a temporary file."""
    if str(source) != "-":
        yield source
        return
    with tempfile.TemporaryDirectory() as folder:
        spooled = Path(folder) / "stdin.csv"
        with spooled.open("wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        yield spooled


class Findings:
    """What a `detect` run found, for the summary on stderr.

    Keeps the ``top`` lowest-scoring rows seen (with their feature values, so
    memory stays bounded on any file size), then explains the flagged ones
    among them by the columns that contribute most to their anomaly score.
    For sequence models, the flagged timestamps are grouped into periods with
    :func:`vaeanomaly.flagged_periods` instead.
    """

    def __init__(self, detector: Any, index_col: str | None, top: int = 5) -> None:
        self.detector = detector
        self.index_col = index_col
        self.top = top
        self._X: pd.DataFrame | None = None
        self._labels: list[str] = []
        self._scores = np.empty(0)
        self.periods: pd.DataFrame | None = None
        self.offset: float | None = None
        self._series: tuple[pd.DataFrame, Any] | None = None

    def hold(self, X: pd.DataFrame, frame: pd.DataFrame, scores: np.ndarray) -> None:
        """Keep what the summary needs; sequences wait for their flags."""
        if isinstance(self.detector, SequenceVAEDetector):
            times = frame[self.index_col] if self.index_col else frame.index
            self._series = (X, times)
        else:
            self.add(X, frame, scores)

    def flag(self, flags: np.ndarray, offset: float) -> None:
        """Record the threshold, and the flags of a held sequence."""
        self.offset = offset
        if self._series is not None:
            self.add_periods(*self._series, flags)

    def add(self, X: pd.DataFrame, frame: pd.DataFrame, scores: np.ndarray) -> None:
        """Consider the rows of one chunk (``X`` and ``frame`` share the index)."""
        scores = np.asarray(scores, dtype=np.float64)
        if not len(scores):
            return
        k = min(self.top, len(scores))
        take = np.argsort(scores, kind="stable")[:k]
        if self.index_col:
            labels = [
                f"{self.index_col} {value}"
                for value in frame[self.index_col].iloc[take]
            ]
        else:
            labels = [f"data row {i}" for i in frame.index[take]]
        X_new = X.iloc[take]
        X_all = X_new if self._X is None else pd.concat([self._X, X_new])
        labels_all = self._labels + labels
        scores_all = np.concatenate([self._scores, scores[take]])
        keep = np.argsort(scores_all, kind="stable")[: self.top]
        self._X = X_all.iloc[keep]
        self._labels = [labels_all[i] for i in keep]
        self._scores = scores_all[keep]

    def add_periods(self, X: pd.DataFrame, times: pd.Series, flags: np.ndarray) -> None:
        """Group the flagged timestamps of a sequence model into periods."""
        from vaeanomaly.sequence import flagged_periods

        flags = np.asarray(flags, dtype=bool)
        if not flags.any():
            self.periods = flagged_periods(flags)
            return
        blame = pd.DataFrame(np.asarray(self.detector.score_features(X)))
        blame.columns = feature_names(self.detector)
        series = pd.Series(flags, index=pd.Index(np.asarray(times)))
        self.periods = flagged_periods(series, blame, top=3)

    def lines(self) -> list[str]:
        """Lines for stderr: the flagged periods, or the most anomalous rows."""
        if self.periods is not None:
            return self._period_lines()
        if self.offset is None:
            return []
        flagged = self._scores < self.offset
        if self._X is None or not flagged.any():
            return []
        X = self._X.iloc[np.flatnonzero(flagged)]
        contributions = np.asarray(self.detector.score_features(X), dtype=np.float64)
        names = feature_names(self.detector)
        width = max(len(label) for label in self._labels)
        out = [
            "Most anomalous rows (score, then the columns adding most to the "
            "anomaly score -score, in nats):"
        ]
        for i, label in enumerate(np.asarray(self._labels)[flagged]):
            order = np.argsort(-np.nan_to_num(contributions[i], nan=-np.inf))[:3]
            top = ", ".join(f"{names[j]} {contributions[i, j]:.1f}" for j in order)
            out.append(
                f"  {label:<{width}}  score {self._scores[flagged][i]:.2f}; "
                f"top columns: {top}"
            )
        return out

    def _period_lines(self, shown: int = 5) -> list[str]:
        periods = self.periods
        if periods is None or periods.empty:
            return []
        out = [f"{len(periods):,} flagged period(s), longest first:"]
        longest = periods.sort_values("length", ascending=False, kind="stable")
        for _, row in longest.head(shown).iterrows():
            out.append(
                f"  {row['start']} to {row['end']} ({row['length']} rows); "
                f"top channels: {row['top_channels']}"
            )
        if len(periods) > shown:
            out.append(f"  ... and {len(periods) - shown:,} more.")
        return out
