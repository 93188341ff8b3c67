"""What kind of values a column of a table holds: one set of rules for everyone.

The estimator's schema and the command line both ask :func:`column_kind` what
a column is, so the same cell gets the same verdict from the Python API and
from every command:

- ``"number"``: a numeric dtype (bools are categories);
- ``"numbers with text"``: text whose values are numbers but for a few other
  tokens (``"ERR"``, ``"n/a"``, ``"-"``): a sensor column with sentinel
  values, never a set of categories; the caller refuses it and says how to
  mark the tokens as missing (:func:`stray_text` finds the first);
- ``"numbers as text"``: numbers written with other marks (``"1,250.5"``,
  ``"0,25"``): :func:`number_format` says which reading options fit;
- ``"date"``: dates or times (every value has a digit and parses);
- ``"category"``: text with few distinct values that repeat (at most
  :data:`MAX_AUTO_LEVELS`, in at most half the rows);
- ``"text"``: anything else (identifiers, free text).
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

__all__ = [
    "MAX_AUTO_LEVELS",
    "MAX_STRAY_TOKENS",
    "column_kind",
    "is_number_column",
    "looks_like_dates",
    "number_format",
    "stray_text",
]

#: A text column is a category column when it has at most this many distinct
#: values and they repeat (in at most half the rows); identifiers, timestamps
#: and free text are not.
MAX_AUTO_LEVELS = 100

#: Most distinct non-numeric tokens a column of numbers may hold for them to
#: count as stray (sentinels, error codes) rather than as categories.
MAX_STRAY_TOKENS = 5

_SAMPLE = 1000  # values looked at to judge number formats and dates


def is_number_column(column: pd.Series) -> bool:
    """Whether a column has a numeric dtype (bools do not count)."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(
        column
    )


def _as_numbers(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column.dropna(), errors="coerce")


def stray_text(column: pd.Series) -> tuple[Any, Any] | None:
    """Find the first non-number in a column of numbers with a few text tokens.

    Parameters
    ----------
    column : pandas.Series
        A column as read (text where any cell is not a number).

    Returns
    -------
    (label, value) or None
        The index label and value of the first cell that is not a number,
        when most cells are numbers (at least half of those present) and the
        others take at most :data:`MAX_STRAY_TOKENS` distinct values; else
        ``None``.

    Examples
    --------
    >>> stray_text(pd.Series(["0.1", "0.2", "ERR", "0.4"]))
    (2, 'ERR')
    >>> stray_text(pd.Series(["idle", "run", "idle"])) is None
    True
    """
    if is_number_column(column) or pd.api.types.is_bool_dtype(column):
        return None
    present = column.dropna()
    if present.empty:
        return None
    numbers = _as_numbers(present)
    other = numbers.isna()
    if not other.any() or other.mean() > 0.5:
        return None
    if present[other].astype(str).nunique() > MAX_STRAY_TOKENS:
        return None
    label = other.idxmax()
    return label, present[label]


def looks_like_dates(column: pd.Series) -> bool:
    """Whether a text column holds dates or times (each value has a digit and parses).

    Such a column is never a feature by default: as categories, next month's
    dates would all be unseen levels.

    Examples
    --------
    >>> looks_like_dates(pd.Series(["2026-01-01", "2026-01-02"]))
    True
    >>> looks_like_dates(pd.Series(["12:30", "13:45:10"]))
    True
    >>> looks_like_dates(pd.Series(["idle", "run", "07"]))
    False
    """
    if is_number_column(column) or pd.api.types.is_bool_dtype(column):
        return False
    values = pd.Series(column.dropna().astype(str).unique()[:200])
    if values.empty or not values.str.contains(r"\d").all():
        return False
    if values.str.fullmatch(r"\s*[-+]?\d+\s*").all():  # integer codes, e.g. "07"
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(values, errors="coerce", format="mixed")
        except (ValueError, TypeError, OverflowError):
            return False
    return bool(parsed.notna().all())


_DECIMAL_COMMA = r"\s*[-+]?\d+,\d+\s*"
_THOUSANDS = {
    ",": r"\s*[-+]?\d{1,3}(,\d{3})+(\.\d+)?\s*",
    ".": r"\s*[-+]?\d{1,3}(\.\d{3})+(,\d+)?\s*",
}


def number_format(column: pd.Series) -> dict[str, str] | None:
    """Return the reading options that make a text column numeric, or ``None``.

    Returns
    -------
    dict or None
        ``{"thousands": mark}`` (with ``"decimal": ","`` when the thousands
        mark is a dot) or ``{"decimal": ","}``; the same names as
        :func:`pandas.read_csv`'s options.

    Examples
    --------
    >>> number_format(pd.Series(["1,250.5", "980.0"]))
    {'thousands': ','}
    >>> number_format(pd.Series(["0,25", "-1,5"]))
    {'decimal': ','}
    """
    values = column.dropna().astype(str).head(_SAMPLE)
    if values.empty:
        return None
    plain = values.str.fullmatch(r"\s*[-+]?\d+(\.\d+)?\s*")
    for mark, pattern in _THOUSANDS.items():
        grouped = values.str.fullmatch(pattern)
        if grouped.any() and (grouped | plain).all():
            return {"thousands": mark} | ({"decimal": ","} if mark == "." else {})
    if (values.str.fullmatch(_DECIMAL_COMMA) | plain).all():
        return {"decimal": ","}
    return None


def _looks_categorical(column: pd.Series) -> bool:
    distinct = column.nunique(dropna=True)
    return 0 < distinct <= MAX_AUTO_LEVELS and distinct <= len(column) / 2


def column_kind(column: pd.Series) -> str:
    """Say what a column holds: one of the kinds of the module docstring.

    Examples
    --------
    >>> column_kind(pd.Series([0.5, 1.5]))
    'number'
    >>> column_kind(pd.Series(["0.5", "ERR", "1.5", "2.5"]))
    'numbers with text'
    >>> column_kind(pd.Series(["idle", "run", "idle", "run"]))
    'category'
    >>> column_kind(pd.Series(["r1", "r2", "r3"]))
    'text'
    """
    if is_number_column(column):
        return "number"
    if stray_text(column) is not None:
        return "numbers with text"
    if number_format(column) is not None and not pd.api.types.is_bool_dtype(column):
        return "numbers as text"
    if looks_like_dates(column.head(_SAMPLE)):
        return "date"
    if pd.api.types.is_bool_dtype(column) or _looks_categorical(column):
        return "category"
    return "text"
