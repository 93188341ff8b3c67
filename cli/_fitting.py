"""Fitting a detector on a CSV table: the training stretch, the columns, progress."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly._kinds import looks_like_dates
from vaeanomaly.cli._columns import (
    choose_features,
    drop_empty_rows,
    number_options,
    summarise,
    to_frame,
)
from vaeanomaly.cli._csv import line_of
from vaeanomaly.cli._errors import CLIError
from vaeanomaly.cli._output import check_output_names, key_columns, report_empty_rows
from vaeanomaly.cli._progress import progress_bar
from vaeanomaly.sequence import SequenceVAEDetector

#: Share of a recording, from its start, that a windowed self-fit learns when
#: neither --train-rows nor --train-until names the stretch.
DEFAULT_TRAIN_SHARE = 1 / 3


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


def date_column(frame: pd.DataFrame, channels: Sequence[str]) -> str | None:
    """Return the first column of dates beside a recording's channels.

    Model files do not record --time-col yet, so the order of a recording
    scored without it is checked on the column that holds its timestamps
    (one whose every value parses as a date), if there is one.
    """
    channels = set(channels)
    for name in frame.columns:
        if name in channels or not looks_like_dates(frame[name].head(1000)):
            continue
        stamps = pd.to_datetime(frame[name], errors="coerce", format="mixed", utc=True)
        if stamps.notna().all():
            return str(name)
    return None


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
        rows = _rows_until(frame, time_col, train_until)
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


def _rows_until(frame: pd.DataFrame, time_col: str | None, train_until: str) -> int:
    """Count the leading rows whose ``time_col`` is at most ``train_until``."""
    if time_col is None:
        raise click.UsageError(
            "--train-until needs --time-col, the column it compares TIME with."
        )
    stamps = pd.to_datetime(frame[time_col], errors="coerce", format="mixed")
    if stamps.isna().any():  # not dates: numbers such as seconds
        stamps = pd.to_numeric(frame[time_col], errors="coerce")
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
    return int((stamps <= until).sum())


def fit_table(
    frame: pd.DataFrame,
    source: Path,
    *,
    columns: Sequence[str],
    exclude: Sequence[str],
    keys: list[str],
    categorical: Sequence[str],
    params: dict,
    threshold: Any,
    window: int | None,
    quiet: bool,
    output_names: Callable[[list[str]], list[str]] | None = None,
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
    if not quiet:
        _report_unused(frame, skipped)
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
    _train(detector, X, quiet)
    if not quiet:
        shape = f"windows of {window} readings of " if window else ""
        kinds = f"; as categories: {summarise(categories)}" if categories else ""
        facts = detector.describe()
        click.echo(
            f"Trained on {len(X):,} rows x {len(features)} columns, {shape}"
            f"({summarise(features)}{kinds}) in {facts['n_iter']} epochs; best "
            f"validation ELBO {facts['best_elbo']:.3f} nats/row"
            f"{_trimmed_text(facts['n_trimmed'])}.",
            err=True,
        )
        click.echo(f"Threshold: {facts['threshold_rule']}.", err=True)
    return detector


def _report_unused(frame: pd.DataFrame, skipped: list[str]) -> None:
    """Say which text columns were left out of the features, and how to use them."""
    numbers = {c: number_options(frame[c]) for c in skipped}
    numbers = {c: option for c, option in numbers.items() if option}
    dates = [c for c in skipped if c not in numbers and looks_like_dates(frame[c])]
    many = [c for c in skipped if c not in dates and c not in numbers]
    if numbers:
        click.echo(
            "Not used as features: "
            + summarise([f"{c} (numbers written as text)" for c in numbers])
            + f". To read them as numbers, pass {next(iter(numbers.values()))}.",
            err=True,
        )
    if many:
        click.echo(
            f"Not used as features (text with too many distinct values to be "
            f"categories): {summarise(many)}. Name them with --categorical to "
            "model them anyway.",
            err=True,
        )
    if dates:
        click.echo(
            "Not used as features: "
            + summarise([f"{c} (dates or times)" for c in dates])
            + ". Name them with --categorical or --columns to model them anyway; "
            "--time-col marks the time column of a recording.",
            err=True,
        )


def _train(detector: Any, X: pd.DataFrame, quiet: bool) -> None:
    """Fit ``detector`` on ``X`` behind a progress bar; warnings go to stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The fit's epochs and passes are known once it starts (they follow
        # the table's width): the first record sets the bar's length.
        last: dict = {}
        with progress_bar(1, "training", quiet) as bar:

            def advance(record: dict) -> None:
                last.update(record)
                _advance(bar, record)

            detector.fit(X, callback=advance)
            bar.update(bar.length - bar.pos)  # early stopping: end at 100%
    if not quiet:
        for warning in caught:
            click.echo(
                f"Warning: {_in_flags(warning, last.get('max_epochs'))}", err=True
            )


def _in_flags(warning: warnings.WarningMessage, max_epochs: int | None) -> str:
    """Return a fit's warning in the command line's words: flags, not Python names."""
    from sklearn.exceptions import ConvergenceWarning

    if issubclass(warning.category, ConvergenceWarning):
        return (
            f"The validation loss was still falling after --epochs "
            f"{max_epochs}. Pass a larger --epochs to train longer."
        )
    return str(warning.message)


def _advance(bar: Any, record: dict) -> None:
    """Move the training bar one epoch and show the epoch and its ELBO."""
    passes = record["n_passes"]
    length = passes * record["max_epochs"]
    if bar.length != length:
        bar.length = length
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


def _trimmed_text(n_trimmed: int) -> str:
    if not n_trimmed:
        return ""
    return (
        f"; {n_trimmed:,} row(s) that a first fit found least likely were left out "
        "of the final fit (trim)"
    )


def fit_file(
    data: Path,
    model_out: Path,
    *,
    csv: Any,
    params: dict,
    threshold: Any,
    columns: Sequence[str],
    exclude: Sequence[str],
    categorical: Sequence[str],
    index_col: str | None,
    time_col: str | None,
    window: int | None,
    train_rows: int | None,
    train_until: str | None,
    force: bool,
    quiet: bool,
) -> None:
    """Fit a detector on the CSV file ``data`` and save it to ``model_out``.

    All rows are learnt unless ``train_rows`` or ``train_until`` name a
    leading stretch known to be normal.
    """
    from vaeanomaly.cli._columns import split_names
    from vaeanomaly.cli._output import check_output
    from vaeanomaly.io import save_model

    check_output(model_out, force)
    frame = csv.read(data, text_columns=split_names(categorical))
    check_time_order(frame, time_col, data)
    index_col = index_col or time_col
    if train_rows is not None or train_until is not None:
        n_train, why = training_stretch(
            frame,
            data,
            time_col=time_col,
            train_rows=train_rows,
            train_until=train_until,
            window=window,
        )
        if not quiet:
            click.echo(
                f"Fitting on rows 1-{n_train:,} of {len(frame):,} ({why}).", err=True
            )
        frame = frame.iloc[:n_train]
    detector = fit_table(
        frame,
        data,
        columns=columns,
        exclude=exclude,
        keys=[index_col] if index_col else [],
        categorical=categorical,
        params=params,
        threshold=threshold,
        window=window,
        quiet=quiet,
    )
    save_model(detector, model_out)
