"""What a scoring run writes: its columns, its chunks, and the file or stdout."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from vaeanomaly.cli._csv import line_of, write_csv
from vaeanomaly.cli._errors import CLIError


def output_names(features: list[str], detect: bool, features_wanted: bool) -> list[str]:
    """Return the columns a run adds to its output, besides the copied ones."""
    names = ["score"] + (["is_anomaly"] if detect else [])
    return names + ([f"contrib_{name}" for name in features] if features_wanted else [])


def key_columns(
    frame: pd.DataFrame, features: Sequence[str], index_col: str | None
) -> list[str]:
    """Columns copied to the output: the index column, then every non-feature column."""
    keys = [index_col] if index_col else []
    return keys + [c for c in frame.columns if c not in features and c not in keys]


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


def output_frame(
    chunk: pd.DataFrame,
    keys: list[str],
    scores: np.ndarray,
    *,
    flags: np.ndarray | None = None,
    contributions: np.ndarray | None = None,
    features: Sequence[str] = (),
) -> pd.DataFrame:
    """Assemble one output chunk: keys (or row numbers), score, flags, contributions."""
    out = chunk[keys].copy() if keys else pd.DataFrame({"row": chunk.index.to_numpy()})
    out = out.reset_index(drop=True)
    out["score"] = scores
    if flags is not None:
        out["is_anomaly"] = np.asarray(flags).astype(int)
    if contributions is not None:  # one concat: column by column fragments pandas
        contrib = pd.DataFrame(
            np.asarray(contributions),
            columns=[f"contrib_{name}" for name in features],
        )
        out = pd.concat([out, contrib], axis=1)
    return out


def write_scores(
    chunks: Iterable[pd.DataFrame],
    output: Path | None,
    *,
    force: bool,
    quiet: bool,
    detect: bool,
    findings: Any = None,
) -> int:
    """Write the chunks (none when ``output`` is None); return the number flagged.

    Then says on stderr how many rows were scored and flagged, and what the
    ``findings`` of a `detect` run found.
    """
    flagged = 0

    def counted() -> Iterator[pd.DataFrame]:
        nonlocal flagged
        for chunk in chunks:
            if detect:
                flagged += int(chunk["is_anomaly"].sum())
            yield chunk

    if output is None:
        rows = sum(len(chunk) for chunk in counted())
    else:
        rows = write_csv(counted(), output, force=force)
    if not quiet:
        where = "stdout" if str(output) == "-" else f"'{output}'"
        where = "" if output is None else f" to {where}"
        extra = ""
        if detect:
            share = flagged / max(rows, 1)
            extra = f"; {flagged:,} flagged as anomalies ({share:.2%})"
        click.echo(f"Scored {rows:,} rows{where}{extra}.", err=True)
        if findings is not None and flagged:
            for line in findings.lines():
                click.echo(line, err=True)
    return flagged


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


def check_output(path: Path | None, force: bool) -> None:
    """Refuse an output path that cannot be written, before reading any data."""
    from vaeanomaly._atomic import output_problem

    if path is None or str(path) == "-":  # no file (report only) or stdout
        return
    problem = output_problem(path, force=force)
    if problem:
        raise CLIError(problem.replace("another path", "another --output"))
