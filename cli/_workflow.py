"""Steps the commands share: fit from a table, score a file chunk by chunk."""

from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import numpy as np
import pandas as pd

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.tables import (
    check_columns,
    choose_features,
    iter_csv,
    read_csv,
    to_matrix,
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


def fit_table(
    frame: pd.DataFrame,
    source: Path,
    *,
    columns,
    exclude,
    index_col,
    params: dict,
    threshold,
    quiet: bool,
) -> VAEAnomalyDetector:
    """Fit a detector on the feature columns of ``frame``, with a progress bar."""
    keys = [index_col] if index_col else []
    features, skipped = choose_features(
        frame, columns=columns, exclude=exclude, keys=keys, source=source
    )
    if skipped and not quiet:
        click.echo(
            f"Not used as features (not numeric): {', '.join(skipped)}.", err=True
        )
    X = pd.DataFrame(to_matrix(frame, features, source), columns=features)
    detector = VAEAnomalyDetector(**params)
    if threshold is not None:
        detector.set_params(threshold=threshold)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with progress_bar(detector.max_epochs, "training", quiet) as bar:
            detector.fit(X, callback=lambda record: bar.update(1))
    if not quiet:
        for warning in caught:
            click.echo(f"Warning: {warning.message}", err=True)
    if not quiet:
        best = detector.history_[detector.best_epoch_ - 1]
        loss = (
            best["valid_loss"] if best["valid_loss"] is not None else best["train_loss"]
        )
        click.echo(
            f"Trained on {len(X):,} rows x {len(features)} columns "
            f"({', '.join(features)}) "
            f"in {detector.n_iter_} epochs; best validation ELBO {-loss:.3f} nats/row.",
            err=True,
        )
    return detector


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
    total = 0
    for chunk in iter_csv(source, sep=sep, chunksize=chunksize):
        check_columns(chunk, features, source)
        X = pd.DataFrame(to_matrix(chunk, features, source), columns=features)
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


def load_table(source: Path, sep) -> pd.DataFrame:
    """Read a whole table (for fitting) and say where it came from in errors."""
    return read_csv(source, sep=sep)
