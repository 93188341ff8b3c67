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
    iter_csv,
    to_frame,
)


def progress_bar(length: int, label: str, quiet: bool):
    """Return a click progress bar on stderr (hidden when quiet or not a TTY)."""
    return click.progressbar(
        length=length, label=label, file=sys.stderr if not quiet else _Null()
    )


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
    categorical = [n for n, c in zip(names, inner.is_categorical_, strict=True) if c]
    text = [
        name
        for name, levels in zip(names, inner.categories_, strict=True)
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


def check_time_order(frame: pd.DataFrame, time_col: str | None, source: Path) -> None:
    """Raise unless ``time_col`` exists and its values never go back in time."""
    if time_col is None:
        return
    if time_col not in frame.columns:
        raise CLIError(
            f"--time-col '{time_col}' is not a column of '{source}', whose columns "
            f"are {list(map(str, frame.columns))}. Name the time column."
        )
    values = pd.to_datetime(frame[time_col], errors="coerce", format="mixed")
    if values.isna().any():  # not dates: numbers such as seconds, or broken
        values = pd.to_numeric(frame[time_col], errors="coerce")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise CLIError(
            f"--time-col '{time_col}' of '{source}' holds "
            f"{frame[time_col].iloc[row]!r} at data row {row}, which is neither a "
            "date nor a number. Fix or drop that row."
        )
    stamps = values.to_numpy()
    backwards = np.flatnonzero(stamps[1:] < stamps[:-1])
    if len(backwards):
        row = int(backwards[0]) + 1
        raise CLIError(
            f"Rows of '{source}' are not in time order: '{time_col}' goes back at "
            f"data row {row} ({frame[time_col].iloc[row]!r}). Sort the file by "
            f"'{time_col}' first."
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
    rule = repr(inner.threshold_)
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
) -> Any:
    """Fit a detector (a sequence detector when ``window``) with a progress bar."""
    features, categories, skipped = choose_features(
        frame,
        columns=columns,
        exclude=exclude,
        keys=keys,
        categorical=categorical,
        source=source,
    )
    if skipped and not quiet:
        click.echo(
            f"Not used as features (text with too many distinct values to be "
            f"categories): {', '.join(skipped)}. Name them with --categorical to "
            "model them anyway.",
            err=True,
        )
    if window is not None and categories:
        raise CLIError(
            f"--window takes numeric sensor channels only, but {categories} hold "
            "categories. Leave them out with --exclude, or drop --window."
        )
    allow_nan = window is not None or params.get("missing", "mask") == "mask"
    X = to_frame(frame, features, source, categorical=categories, allow_nan=allow_nan)
    model = VAEAnomalyDetector(**params, categorical_features=categories or None)
    if threshold is not None:
        model.set_params(threshold=threshold)
    detector = model if window is None else SequenceVAEDetector(window, detector=model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        passes = 1 if model.trim is None else 2  # a second fit after trimming
        with progress_bar(passes * model.max_epochs, "training", quiet) as bar:
            detector.fit(X, callback=lambda record: bar.update(1))
    if not quiet:
        for warning in caught:
            click.echo(f"Warning: {warning.message}", err=True)
        fitted = inner_model(detector)
        best = fitted.history_[fitted.best_epoch_ - 1]
        loss = (
            best["valid_loss"] if best["valid_loss"] is not None else best["train_loss"]
        )
        shape = f"windows of {window} readings of " if window else ""
        click.echo(
            f"Trained on {len(X):,} rows x {len(features)} columns, {shape}"
            f"({', '.join(features)}) in {fitted.n_iter_} epochs; best validation "
            f"ELBO {-loss:.3f} nats/row{_trimmed_text(fitted)}.",
            err=True,
        )
        click.echo(f"Threshold: {threshold_text(detector)}.", err=True)
    return detector


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
) -> pd.DataFrame:
    """Score a whole table at once (sequence models need the whole series)."""
    names = feature_names(detector)
    X = model_frame(detector, frame, source)
    if index_col is not None and isinstance(detector, SequenceVAEDetector):
        X.index = pd.Index(frame[index_col].to_numpy(), name=index_col)  # for drift
    contributions = np.asarray(detector.score_features(X)) if features_wanted else None
    return output_frame(
        frame,
        key_columns(frame, names, index_col),
        detector.score_samples(X),
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
    if contributions is not None:
        for j, name in enumerate(features):
            out[f"contrib_{name}"] = contributions[:, j]
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
) -> Iterator[pd.DataFrame]:
    """Score a CSV file chunk by chunk; memory is bounded by ``chunksize``."""
    features = [str(c) for c in detector.feature_names_in_]
    _, text = model_categories(detector)
    total = 0
    for chunk in iter_csv(source, sep=sep, chunksize=chunksize, text_columns=text):
        X = model_frame(detector, chunk, source)
        keys = key_columns(chunk, features, index_col)
        contributions = (
            detector.score_features(X).to_numpy() if features_wanted else None
        )
        yield output_frame(
            chunk,
            keys,
            detector.score_samples(X),
            offset=offset,
            contributions=contributions,
            features=features,
        )
        total += len(chunk)
        if not quiet and sys.stderr.isatty():
            click.echo(f"\rscored {total:,} rows", err=True, nl=False)
    if not quiet and sys.stderr.isatty():
        click.echo("", err=True)


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
