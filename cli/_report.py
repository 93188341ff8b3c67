"""The HTML report of `report` and `detect --report`: checks first, then the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd

from vaeanomaly.cli._errors import CLIError

EXTRA_HINT = 'pip install "vaeanomaly[report]"'


def check_report(path: Path | None, force: bool) -> None:
    """Fail before any work when the report cannot be written.

    The report needs the ``report`` extra (Jinja2 and matplotlib), a folder
    that exists, and ``--force`` to replace a file.
    """
    if path is None:
        return
    try:
        import vaeanomaly.report  # noqa: F401
    except ImportError as exc:
        raise CLIError(
            f"The HTML report needs the 'report' extra, which is not installed "
            f"({exc.name or exc}). Install it with: {EXTRA_HINT}"
        ) from exc
    if path.exists() and not force:
        raise CLIError(
            f"'{path}' already exists. Pass --force to replace it, or choose "
            "another report path."
        )
    if not path.resolve().parent.is_dir():
        raise CLIError(
            f"The folder of the report '{path}' does not exist. Create it, or "
            "choose another report path."
        )


def write_page(
    detector: Any,
    frame: pd.DataFrame,
    source: Path,
    path: Path,
    *,
    index_col: str | None,
    time_col: str | None,
    threshold: Any,
    fitted_here: bool,
    top: int = 20,
    quiet: bool = False,
) -> None:
    """Write the report of ``frame`` scored by ``detector`` to ``path``."""
    from vaeanomaly.cli._columns import model_frame
    from vaeanomaly.report import write_report

    facts = detector.describe()
    X = model_frame(facts, frame, source)
    if index_col and index_col != time_col:
        X = X.set_axis(frame[index_col].astype(str).to_numpy(), axis=0)
    features = set(facts["columns"])
    skipped = {
        str(c): _why_unused(frame[c], c, index_col, time_col, fitted_here)
        for c in frame.columns
        if str(c) not in features
    }
    page = write_report(
        detector,
        X,
        path,
        time=None if time_col is None else _times(frame[time_col]),
        reference=X if fitted_here else None,
        threshold=threshold,
        top=top,
        source=str(source) if str(source) != "-" else "standard input",
        skipped=skipped,
    )
    if not quiet:
        click.echo(
            f"Wrote the report to '{path}' ({len(page) / 1024:,.0f} KB).", err=True
        )


def _why_unused(column, name, index_col, time_col, fitted_here) -> str:
    if name == time_col:
        return "the time column (--time-col)"
    if name == index_col:
        return "the identifier column (--index-col)"
    if not fitted_here:
        return "not a column of the model"
    if pd.api.types.is_numeric_dtype(column):
        return "left out by --columns or --exclude"
    return (
        "text with too many distinct values to be categories (name it with "
        "--categorical to model it)"
    )


def _times(column: pd.Series):
    """Timestamps as dates when they parse as dates, else as numbers (seconds)."""
    values = pd.to_datetime(column, errors="coerce", format="mixed")
    if values.isna().any():
        values = pd.to_numeric(column, errors="coerce")
    return values.to_numpy()
