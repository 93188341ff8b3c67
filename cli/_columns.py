"""Columns of a CSV table: which are features, and converting them for a model.

Works on pandas DataFrames read by :mod:`vaeanomaly.cli._csv`: choosing the
feature columns (numbers, and text with few repeated values as categories),
telling dates and numbers written as text apart, and turning the chosen
columns into what a detector reads, with errors that name the column and the
line of the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vaeanomaly._kinds import (
    MAX_STRAY_TOKENS,
    column_kind,
    is_number_column,
    number_format,
)
from vaeanomaly._values import (
    as_numbers,
    empty_rows,
    number_column,
    refuse_missing_cells,
    refuse_stray_text,
    select_columns,
)
from vaeanomaly.cli._csv import line_of
from vaeanomaly.cli._csv import source_name as _name
from vaeanomaly.exceptions import CellError, DataError, MissingColumnsError

__all__ = [
    "check_columns",
    "choose_features",
    "drop_empty_rows",
    "number_advice",
    "number_options",
    "split_names",
    "summarise",
    "to_frame",
    "to_matrix",
]


def split_names(names: Sequence[str] | None) -> list[str]:
    """Split repeated, comma-separated option values into a list of names.

    Examples
    --------
    >>> split_names(["a,b", " c "])
    ['a', 'b', 'c']
    """
    out: list[str] = []
    for item in names or ():
        out += [name.strip() for name in str(item).split(",") if name.strip()]
    return out


def _require(frame: pd.DataFrame, names: list[str], option: str, source: str) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise DataError(
            f"Column(s) {missing} given with {option} are not in {_name(source)}, "
            f"whose columns are {list(map(str, frame.columns))}. Fix the names."
        )


def number_options(column: pd.Series) -> str | None:
    """Return the flags that read a text column as numbers, or ``None``.

    Examples
    --------
    >>> number_options(pd.Series(["1,250.5", "980.0"]))
    "--thousands ','"
    >>> number_options(pd.Series(["0,25", "-1,5"]))
    "--decimal ','"
    """
    found = number_format(column)
    if found is None:
        return None
    return " ".join(f"--{name} '{mark}'" for name, mark in found.items())


def number_advice(text_values: pd.Series) -> str:
    """Advice for text where numbers belong: the option to pass, or what to fix."""
    option = number_options(text_values)
    if option:
        return f"They look like numbers written with other marks: pass {option}."
    tokens = text_values.dropna().astype(str).unique()
    if 0 < len(tokens) <= MAX_STRAY_TOKENS:
        marks = ",".join(tokens)
        return (
            f"If they mark a missing reading, pass --na-values '{marks}' to read "
            "them as empty cells; else fix the values, or leave the column out "
            "with --exclude."
        )
    return "Fix the value, or leave the column out with --exclude."


def _text_cells(column: pd.Series) -> pd.Series:
    """Return the cells of ``column`` that are not numbers (nor missing)."""
    return column.iloc[as_numbers(column)[1]]


def choose_features(
    frame: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    keys: Sequence[str] = (),
    categorical: Sequence[str] | None = None,
    source: str | os.PathLike = "data",
) -> tuple[list[str], list[str], list[str]]:
    """Choose the feature columns of a table, and which of them are categories.

    Parameters
    ----------
    frame : pandas.DataFrame
        A sample of the table (its first chunk).
    columns : sequence of str, default=None
        Columns to use (comma-separated items are split). ``None`` uses every
        column that is neither excluded nor a key and is of the kind
        ``"number"`` or ``"category"`` (:func:`vaeanomaly._kinds.column_kind`),
        plus the ``categorical`` ones. A column of numbers with a few text
        tokens is refused, naming the value and its line, unless it is
        named in ``categorical``.
    exclude : sequence of str, default=None
        Columns never to use.
    keys : sequence of str, default=()
        Identifier columns (e.g. the index column), never features.
    categorical : sequence of str, default=None
        Columns to model as categories even if they hold numbers.
    source : str or path-like
        Name of the table for messages.

    Returns
    -------
    features : list of str
        The feature columns, in table order unless ``columns`` gave an order.
    categories : list of str
        The features modelled as categories: those named in ``categorical``
        and every chosen feature that does not hold numbers.
    skipped : list of str
        Text columns left out of the default choice (too many distinct
        values to be categories).
    """
    columns, exclude, keys = split_names(columns), split_names(exclude), list(keys)
    forced = split_names(categorical)
    _require(frame, columns, "--columns", source)
    _require(frame, exclude, "--exclude", source)
    _require(frame, keys, "--index-col", source)
    _require(frame, forced, "--categorical", source)
    clash = [c for c in forced if c in exclude or c in keys]
    if clash:
        raise DataError(
            f"Column(s) {clash} are given with --categorical and also excluded or "
            "used as the index column. Keep them in one place only."
        )
    skipped: list[str] = []
    candidates = columns or [
        c for c in frame.columns if c not in exclude and c not in keys
    ]
    for c in candidates:  # numbers with a few text tokens: refused, not skipped
        if c not in forced:
            try:
                refuse_stray_text(frame[c], str(c))
            except CellError as exc:
                raise _in_file_terms(exc, frame, source) from None
    if columns:
        features = columns + [c for c in forced if c not in columns]
    else:
        features = [
            c
            for c in candidates
            if c in forced or column_kind(frame[c]) in ("number", "category")
        ]
        skipped = [str(c) for c in candidates if c not in features]
    if not features:
        raise DataError(
            f"{_name(source)} has no numeric columns to use (non-numeric: {skipped}). "
            "Pass --categorical or --columns naming the columns to model, or "
            "convert them to numbers."
        )
    categories = [
        str(c) for c in features if c in forced or not is_number_column(frame[c])
    ]
    return [str(c) for c in features], categories, skipped


def to_frame(
    frame: pd.DataFrame,
    columns: Sequence[str],
    source: str | os.PathLike,
    *,
    categorical: Sequence[str] = (),
    allow_nan: bool = False,
) -> pd.DataFrame:
    """Return the feature columns as a model reads them, or explain what is wrong.

    Numeric columns become float64 (see :func:`to_matrix`); categorical ones
    keep their values (read them as text with ``text_columns`` of
    :func:`iter_csv`, so a level reads the same in every chunk). Empty cells
    stay missing when ``allow_nan``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A chunk of the table.
    columns : sequence of str
        Feature columns, in the model's order.
    source : str or path-like
        Name of the table for messages.
    categorical : sequence of str, default=()
        The columns among ``columns`` that hold categories.
    allow_nan : bool, default=False
        Keep empty cells (for models that leave them out).

    Returns
    -------
    pandas.DataFrame
        With ``frame``'s index and ``columns`` in order.
    """
    numeric = [c for c in columns if c not in set(categorical)]
    out = pd.DataFrame(
        to_matrix(frame, numeric, source, allow_nan=allow_nan),
        columns=numeric,
        index=frame.index,
    )
    for name in categorical:
        values = frame[name]
        if not allow_nan:
            try:
                refuse_missing_cells(values, name)
            except CellError as exc:
                raise _in_file_terms(
                    exc, frame, source, fix="fit with --missing mask"
                ) from None
        out[name] = values.astype(object)
    return out[list(columns)]


def drop_empty_rows(
    frame: pd.DataFrame, columns: Sequence[str]
) -> tuple[pd.DataFrame, list[int]]:
    """Drop the rows with no value in any of ``columns``.

    Such a row (``,,`` in a CSV file) has nothing for a model to score or learn
    from; the command line leaves it out and says so, rather than refusing
    the whole file.

    Parameters
    ----------
    frame : pandas.DataFrame
        A chunk of the table, indexed by its data row numbers.
    columns : sequence of str
        The feature columns.

    Returns
    -------
    frame : pandas.DataFrame
        ``frame`` without those rows (the same object when there are none).
    rows : list of int
        The data row numbers dropped (0 is the first row after the header).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1.0, None], "b": [2.0, None], "id": ["x", "y"]})
    >>> drop_empty_rows(frame, ["a", "b"])[1]
    [1]
    """
    empty = empty_rows(frame, columns)
    if not empty.size:
        return frame, []
    keep = np.ones(len(frame), dtype=bool)
    keep[empty] = False
    return frame.loc[keep], [int(i) for i in frame.index[empty]]


def check_columns(
    frame: pd.DataFrame, expected: Sequence[str], source: str | os.PathLike
) -> None:
    """Raise if ``frame`` lacks any of the model's columns, naming missing and extra.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to score.
    expected : sequence of str
        The columns the model was trained on.
    source : str or path-like
        Name of the table for messages.
    """
    try:
        select_columns(frame, [str(c) for c in expected])
    except MissingColumnsError as exc:
        extra = [str(c) for c in frame.columns if str(c) not in set(expected)]
        raise DataError(
            f"Column(s) {exc.missing} were used in training but are missing from "
            f"{_name(source)} (columns there and not in the model: {extra}). Add "
            "them, rename the columns to match, or refit the model on this layout."
        ) from None


def to_matrix(
    frame: pd.DataFrame,
    columns: Sequence[str],
    source: str | os.PathLike,
    *,
    allow_nan: bool = False,
) -> np.ndarray:
    """Return ``frame[columns]`` as a float64 matrix, or explain what is wrong.

    Parameters
    ----------
    frame : pandas.DataFrame
        A chunk of the table; its index holds data row numbers (from 0, not
        counting the header), which messages give as lines (see :func:`line_of`).
    columns : sequence of str
        Feature columns.
    source : str or path-like
        Name of the table for messages.
    allow_nan : bool, default=False
        Keep empty cells as NaN (for models that fill gaps themselves).

    Returns
    -------
    ndarray of shape (n_rows, n_columns)

    Raises
    ------
    DataError
        Naming the first column and row with text, a missing value or infinity.
    """
    X = np.empty((len(frame), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        try:
            X[:, j] = number_column(frame[column], column, allow_nan=allow_nan)
        except CellError as exc:
            raise _in_file_terms(exc, frame, source) from None
    return X


def _in_file_terms(
    exc: CellError,
    frame: pd.DataFrame,
    source: str | os.PathLike,
    *,
    fix: str = "leave the column out with --exclude",
) -> DataError:
    """Word the library's verdict on a cell with the file's line and flags."""
    where = f"({exc.value!r} on line {line_of(exc.row)})"
    column = f"Column '{exc.column}' of {_name(source)}"
    if exc.problem == "text":
        advice = number_advice(_text_cells(frame[exc.column]))
        return DataError(f"{column} holds text where numbers belong {where}. {advice}")
    if exc.problem == "missing":
        return DataError(
            f"{column} has {exc.count} missing value(s), the first on line "
            f"{line_of(exc.row)}. Fill or drop them, or {fix}."
        )
    return DataError(
        f"{column} holds {exc.value} on line {line_of(exc.row)}. Replace infinite "
        "values before scoring."
    )


def summarise(names: Sequence, first: int = 8) -> str:
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


def model_frame(
    facts: dict, frame: pd.DataFrame, source: str | os.PathLike
) -> pd.DataFrame:
    """Return the columns a described model reads from ``frame``, converted.

    Parameters
    ----------
    facts : dict
        The model's ``describe()``.
    frame : pandas.DataFrame
        A chunk of the table.
    source : str or path-like
        Name of the table for messages.

    Returns
    -------
    pandas.DataFrame
        The model's columns in its order (see :func:`to_frame`).
    """
    names = facts["columns"]
    check_columns(frame, names, source)
    categorical = [
        name
        for name, levels in zip(names, facts["categories"], strict=True)
        if levels is not None
    ]
    return to_frame(
        frame,
        names,
        source,
        categorical=categorical,
        allow_nan=facts["accepts_missing"],
    )


def text_columns(facts: dict) -> list[str]:
    """Return a described model's categorical columns to read as text.

    Levels learnt from a CSV file are text; a model fitted in Python may have
    numeric levels, and then the column is read as pandas parses it.
    """
    return [
        name
        for name, levels in zip(facts["columns"], facts["categories"], strict=True)
        if levels is not None and all(isinstance(v, str) for v in levels)
    ]
