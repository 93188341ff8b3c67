"""One scoring run on a CSV file: what `score`, `detect`, `report` and `evaluate` do.

A :class:`ScoringRun` holds the settings of a run, given by keyword. Its
steps: load a model (or fit one on the file itself), read the file (whole,
or chunk by chunk when a table model streams it), score and flag the rows,
write the output and the report, and say on stderr what was found.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from vaeanomaly.cli._columns import (
    check_columns,
    drop_empty_rows,
    model_frame,
    split_names,
    text_columns,
)
from vaeanomaly.cli._csv import CsvFormat
from vaeanomaly.cli._errors import CLIError
from vaeanomaly.cli._findings import Findings
from vaeanomaly.cli._fitting import (
    check_time_order,
    date_column,
    fit_table,
    training_stretch,
)
from vaeanomaly.cli._modelfile import load_checked
from vaeanomaly.cli._options import hidden_dims_value
from vaeanomaly.cli._output import (
    check_output,
    check_output_names,
    key_columns,
    output_frame,
    output_names,
    report_empty_rows,
    rereadable,
    write_scores,
)
from vaeanomaly.cli._report import check_report, write_page
from vaeanomaly.sequence import DriftWarning
from vaeanomaly.thresholds import fit_offset


def estimator_params(**options: Any) -> dict:
    """Return the estimator parameters the options set; ``None`` leaves a default.

    Examples
    --------
    >>> estimator_params(max_epochs=None, random_state=0, hidden_dims="8,4")
    {'random_state': 0, 'hidden_dims': (8, 4)}
    """
    if options.get("hidden_dims") is not None:
        options["hidden_dims"] = hidden_dims_value(options["hidden_dims"])
    return {name: value for name, value in options.items() if value is not None}


@dataclass(kw_only=True)
class ScoringRun:
    """The settings of one run that scores a CSV file, and its steps.

    Without ``model``, a model is fitted on ``data`` itself first (on the
    stretch that ``train_rows``/``train_until`` name, with ``columns``,
    ``exclude`` and ``categorical`` choosing the features). ``threshold`` is
    an unfitted threshold object to fit on this file's scores, or ``None`` for
    the model's own. ``output=None`` writes no scores.
    """

    data: Path
    csv: CsvFormat
    model: Path | None = None
    detect: bool = False
    output: Path | None = None
    features: bool = False
    columns: Sequence[str] = ()
    exclude: Sequence[str] = ()
    categorical: Sequence[str] = ()
    index_col: str | None = None
    time_col: str | None = None
    window: int | None = None
    train_rows: int | None = None
    train_until: str | None = None
    missing: str | None = None
    method: str | None = None
    draws: int | None = None
    threshold: Any = None
    chunksize: int = 100_000
    seed: int = 0
    device: str = "auto"
    force: bool = False
    quiet: bool = False
    report: Path | None = None
    top: int = 20

    def __post_init__(self) -> None:
        self.index_col = self.index_col or self.time_col

    # -------------------------------------------------------------- the run
    def run(self) -> int:
        """Score every row, write the output and report; return the number flagged."""
        self.check_before_reading()
        if self.model is None:
            frame = self.read_table()
            detector = self.fit(frame)
            fitted_here = True
        else:
            detector = self.load_model()
            if detector.describe()["window"] is None and self.report is None:
                return self._stream(detector)
            # Windows need the readings before each timestamp, and the report
            # the whole table: read it whole.
            frame = self.read_table(detector)
            fitted_here = False
        findings = self._findings(detector)
        out = self.score_table(detector, frame, findings, fitted_here=fitted_here)
        flagged = self._write([out], findings)
        if self.report is not None:
            write_page(
                detector,
                frame,
                self.data,
                self.report,
                index_col=self.index_col,
                time_col=self.time_col,
                threshold=self.threshold,
                fitted_here=fitted_here,
                top=self.top,
                quiet=self.quiet,
            )
        return flagged

    def check_before_reading(self) -> None:
        """Refuse outputs that cannot be written and options that do not apply."""
        check_output(self.output, self.force)
        check_report(self.report, self.force)
        if self.model is None:
            return
        for option, value in (
            ("--columns", self.columns),
            ("--exclude", self.exclude),
            ("--categorical", self.categorical),
            ("--missing", self.missing),
        ):
            if value:
                raise click.UsageError(
                    f"{option} applies when fitting; the model '{self.model}' has "
                    f"its columns and settings already (see `vaeanomaly info "
                    f"{self.model}`). Drop {option}, or leave out -m to fit on this "
                    "file."
                )

    # ------------------------------------------------------------- the steps
    def load_model(self) -> Any:
        """Load ``model``, check it against the run's options, set its scoring."""
        if self.train_rows is not None or self.train_until is not None:
            raise CLIError(
                "--train-rows and --train-until choose what a model fitted on DATA "
                f"learns; with --model '{self.model}' nothing is fitted. Drop them, "
                "or drop --model."
            )
        detector = load_checked(self.model)
        facts = detector.describe()
        fitted = facts["window"]
        if self.window is not None and self.window != fitted:
            raise CLIError(
                f"--window {self.window} does not match the model '{self.model}', "
                f"fitted with window={fitted}. Drop --window (the model's is used) "
                "or refit."
            )
        fitted_method = facts["score_method"]
        other_method = self.method not in (None, fitted_method)
        if self.detect and self.threshold is None and other_method:
            raise CLIError(
                f"--method {self.method} differs from the model's score method "
                f"({fitted_method}), and the model's threshold was fitted on "
                f"{fitted_method} scores: it would not mean anything for "
                f"{self.method} scores. Add a threshold to fit on this file's "
                "scores (e.g. --threshold robust_z or --contamination 0.05), or "
                f"refit the model with --method {self.method}."
            )
        return detector.set_scoring(score_method=self.method, n_draws=self.draws)

    def read_table(self, detector: Any = None) -> pd.DataFrame:
        """Read the whole of ``data``, checked to be in time order where it says."""
        if detector is None:
            frame = self.csv.read(self.data, text_columns=split_names(self.categorical))
            check_time_order(frame, self.time_col, self.data)
            return frame
        facts = detector.describe()
        frame = self.csv.read(self.data, text_columns=text_columns(facts))
        time_col = self.time_col or date_column(frame, facts["columns"])
        check_time_order(frame, time_col, self.data)
        return frame

    def fit(self, frame: pd.DataFrame) -> Any:
        """Fit a detector on ``data``'s training stretch, saying so on stderr."""
        if not self.quiet:
            click.echo(
                f"No --model given: fitting a model on '{self.data}' itself first.",
                err=True,
            )
        n_train, why = training_stretch(
            frame,
            self.data,
            time_col=self.time_col,
            train_rows=self.train_rows,
            train_until=self.train_until,
            window=self.window,
        )
        if not self.quiet and n_train < len(frame):
            until = ""
            if self.time_col:
                until = f", up to {frame[self.time_col].iloc[n_train - 1]}"
            click.echo(
                f"Fitting on rows 1-{n_train:,} of {len(frame):,}{until} ({why}).",
                err=True,
            )
        params = estimator_params(
            random_state=self.seed,
            device=self.device,
            score_method=self.method,
            n_draws=self.draws,
        )
        return fit_table(
            frame.iloc[:n_train],
            self.data,
            columns=self.columns,
            exclude=self.exclude,
            keys=[self.index_col] if self.index_col else [],
            categorical=self.categorical,
            params={"missing": self.missing or "mask", **params},
            threshold=self.threshold if self.detect else None,
            window=self.window,
            quiet=self.quiet,
            output_names=lambda names: output_names(names, self.detect, self.features),
        )

    def score_table(
        self,
        detector: Any,
        frame: pd.DataFrame,
        findings: Findings | None = None,
        *,
        fitted_here: bool = False,
    ) -> pd.DataFrame:
        """Score a whole table; with ``detect``, flag it (``threshold`` fitted here).

        Warnings of the scoring (a recording's DriftWarning) go to stderr
        unless ``quiet``. Rows with no value in any feature are skipped and
        reported, unless the fit on this file has reported them already.
        """
        facts = detector.describe()
        names = facts["columns"]
        keys = key_columns(frame, names, self.index_col)
        check_output_names(
            keys, output_names(names, self.detect, self.features), self.data
        )
        sequential = facts["window"] is not None
        if not sequential:  # a recording fills its gaps
            check_columns(frame, names, self.data)
            frame, empty = drop_empty_rows(frame, names)
            report_empty_rows(empty, len(empty), self.data, self.quiet or fitted_here)
        X = model_frame(facts, frame, self.data)
        if self.index_col is not None and sequential:  # drift names the times
            X.index = pd.Index(frame[self.index_col].to_numpy(), name=self.index_col)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DriftWarning)
            contributions = (
                np.asarray(detector.score_features(X)) if self.features else None
            )
            scores = detector.score_samples(X)
        if not self.quiet:
            for warning in caught:
                click.echo(f"Warning: {warning.message}", err=True)
        flags = None
        if self.detect:
            offset = self._offset(detector, scores, fitted_here)
            flags = detector.flags(scores, offset)
            if findings is not None:
                findings.hold(X, frame, scores)
                findings.flag(flags, offset)
        return output_frame(
            frame,
            keys,
            scores,
            flags=flags,
            contributions=contributions,
            features=names,
        )

    # ------------------------------------------------------------- internals
    def _offset(self, detector: Any, scores: np.ndarray, fitted_here: bool) -> float:
        """Return the model's threshold, or ``threshold`` fitted on these scores.

        A model fitted on this file has fitted ``threshold`` already, on its
        training rows.
        """
        if self.threshold is None or fitted_here:
            return detector.offset_
        return fit_offset(self.threshold, scores)

    def _findings(self, detector: Any) -> Findings | None:
        if not self.detect or self.quiet:
            return None
        return Findings(detector, self.index_col)

    def _write(self, chunks: Any, findings: Findings | None) -> int:
        return write_scores(
            chunks,
            self.output,
            force=self.force,
            quiet=self.quiet,
            detect=self.detect,
            findings=findings,
        )

    def _stream(self, detector: Any) -> int:
        """Score a table model's file in chunks; memory is bounded by ``chunksize``."""
        findings = self._findings(detector)
        with rereadable(self.data) as source:
            offset = None
            if self.detect:
                offset = detector.offset_
                if self.threshold is not None:  # a first pass for the scores
                    chunks = self._chunks(
                        detector, source, None, features=False, quiet=True
                    )
                    scores = np.concatenate([c["score"].to_numpy() for c in chunks])
                    offset = fit_offset(self.threshold, scores)
            if findings is not None:
                findings.offset = offset
            chunks = self._chunks(
                detector,
                source,
                offset,
                features=self.features,
                quiet=self.quiet,
                findings=findings,
            )
            return self._write(chunks, findings)

    def _chunks(
        self,
        detector: Any,
        source: Path,
        offset: float | None,
        *,
        features: bool,
        quiet: bool,
        findings: Findings | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Score ``source`` chunk by chunk; flag the rows below ``offset``."""
        facts = detector.describe()
        names = facts["columns"]
        added = output_names(names, offset is not None, features)
        empty: list[int] = []
        n_empty = total = 0
        chunks = self.csv.chunks(
            source, chunksize=self.chunksize, text_columns=text_columns(facts)
        )
        for chunk in chunks:
            keys = key_columns(chunk, names, self.index_col)
            check_output_names(keys, added, source)
            check_columns(chunk, names, source)
            chunk, dropped = drop_empty_rows(chunk, names)
            n_empty += len(dropped)
            empty += dropped[: 5 - len(empty)] if len(empty) < 5 else []
            if chunk.empty:
                continue
            X = model_frame(facts, chunk, source)
            contributions = detector.score_features(X).to_numpy() if features else None
            scores = detector.score_samples(X)
            if findings is not None:
                findings.add(X, chunk, scores)
            flags = None if offset is None else detector.flags(scores, offset)
            yield output_frame(
                chunk,
                keys,
                scores,
                flags=flags,
                contributions=contributions,
                features=names,
            )
            total += len(chunk)
            _show_progress(total, quiet)
        _show_progress(None, quiet)
        report_empty_rows(empty, n_empty, source, quiet)


def _show_progress(total: int | None, quiet: bool) -> None:
    """Show the rows scored so far on a terminal; ``None`` ends the line."""
    if quiet or not sys.stderr.isatty():
        return
    if total is None:
        click.echo("", err=True)
    else:
        click.echo(f"\rscored {total:,} rows", err=True, nl=False)
