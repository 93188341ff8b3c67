"""From the user's table to the value matrix: the checks the table schema runs.

:class:`~vaeanomaly._schema.TableSchema`, the one validator, is the only user
of this module. What it learns about the columns in ``fit``
(:func:`categorical_columns`, :func:`column_levels`,
:func:`column_resolution`), and how it turns a table into the float matrix of
*values* the encoder reads: numbers stay numbers, a categorical cell becomes
the code of its level (0, 1, ...; :data:`UNKNOWN_CODE` for a level not seen
in training) and a missing cell (NaN, None, ``pd.NA``) becomes NaN. Every
problem is raised here as a :class:`~vaeanomaly.exceptions.DataError` that
names the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array

from vaeanomaly._kinds import stray_text
from vaeanomaly.exceptions import CellError, DataError, MissingColumnsError

__all__ = [
    "UNKNOWN_CODE",
    "as_frame",
    "as_numbers",
    "category_values",
    "categorical_columns",
    "check_columns",
    "check_observed_rows",
    "column_levels",
    "column_resolution",
    "empty_rows",
    "explain_bad_values",
    "number_column",
    "numeric_values",
    "refuse_missing_cells",
    "refuse_stray_text",
    "select_columns",
    "table_values",
]

#: Code of a level that was not seen in training (see
#: ``vaeanomaly.likelihoods.UNKNOWN_LEVEL_MASS``).
UNKNOWN_CODE = -1.0


# -------------------------------------------------------- learning, in fit
def _is_categorical_dtype(dtype: Any) -> bool:
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def categorical_columns(
    X: Any, spec: Any, names: Sequence[str], n_features: int
) -> np.ndarray:
    """Which columns are categorical, as a boolean array of length ``n_features``.

    Parameters
    ----------
    X : array-like
        The training table.
    spec : "from_dtype", None, or sequence of str, int or bool
        ``"from_dtype"``: the columns of a DataFrame whose dtype is
        ``category``, ``object``, ``bool`` or ``string``. A sequence names the
        columns (by name or position) or is a boolean mask. ``None``: none.
    names : sequence of str
        Column names, for lookup and messages.
    n_features : int
        Number of columns.

    Returns
    -------
    ndarray of bool of shape (n_features,)

    Raises
    ------
    DataError
        If ``spec`` names a column that ``X`` does not have.
    """
    mask = np.zeros(n_features, dtype=bool)
    if spec is None:
        return mask
    if isinstance(spec, str):  # "from_dtype"; other strings are refused by fit
        if hasattr(X, "dtypes"):
            mask[:] = [_is_categorical_dtype(dtype) for dtype in X.dtypes]
            for j in np.flatnonzero(mask):
                refuse_stray_text(X.iloc[:, j], names[j])
        return mask
    items = list(spec)
    if items and all(isinstance(v, (bool, np.bool_)) for v in items):
        if len(items) != n_features:
            raise DataError(
                f"categorical_features as a boolean mask needs one entry per column "
                f"({n_features}); got {len(items)}."
            )
        return np.asarray(items, dtype=bool)
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not -n_features <= item < n_features:
                raise DataError(
                    f"categorical_features holds column index {item}, but X has "
                    f"{n_features} columns. Use indices in [0, {n_features - 1}]."
                )
            mask[item] = True
        elif str(item) in names:
            mask[list(names).index(str(item))] = True
        else:
            raise DataError(
                f"categorical_features names column {item!r}, which is not in X "
                f"(columns: {list(names)}). Fix the name."
            )
    return mask


def _jsonable(level: Any) -> Any:
    return level.item() if isinstance(level, np.generic) else level


def column_levels(column: pd.Series) -> list:
    """Return the levels of a categorical column.

    A ``category`` dtype's categories, else the distinct non-missing values,
    sorted when they can be.

    Parameters
    ----------
    column : pandas.Series
        One column of the training table.

    Returns
    -------
    list
        The levels as plain Python values (str, int, float or bool).

    Raises
    ------
    DataError
        If the values cannot be levels (they are not hashable).
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = list(column.cat.categories)
    else:
        try:
            levels = list(pd.unique(column.dropna()))
        except TypeError as exc:
            raise DataError(
                f"Column {str(column.name)!r} holds values that cannot be categories "
                f"({exc}). Convert them to text (e.g. .astype(str)) or drop the column."
            ) from exc
        try:
            levels = sorted(levels)
        except TypeError:  # mixed types: keep the order of first appearance
            pass
    return [_jsonable(level) for level in levels]


def column_resolution(values: np.ndarray) -> np.ndarray:
    """Smallest step between the distinct observed values of each column.

    Steps below ``1e-9`` of a column's range are taken as rounding noise of
    the same value (e.g. integers after min-max scaling). A column with fewer
    than two distinct values has resolution 0.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_features)
        The value matrix, NaN where missing.

    Returns
    -------
    ndarray of shape (n_features,)
    """
    out = np.zeros(values.shape[1])
    for j in range(values.shape[1]):
        distinct = np.unique(values[:, j])
        distinct = distinct[~np.isnan(distinct)]
        if len(distinct) < 2:
            continue
        steps = np.diff(distinct)
        steps = steps[steps > 1e-9 * (distinct[-1] - distinct[0])]
        out[j] = steps.min()
    return out


# ------------------------------------------------------------ table checks
def check_columns(X: Any) -> None:
    """Refuse duplicate column names, and columns of dates, times or durations.

    Dates are neither numbers nor categories; numpy's own error about
    promoting ``DateTime64DType`` does not say which column or what to do.

    Raises
    ------
    DataError
        Naming the columns.
    """
    columns = getattr(X, "columns", None)
    if columns is not None and columns.has_duplicates:
        twice = sorted({str(c) for c in columns[columns.duplicated()]})
        raise DataError(
            f"Column name(s) {twice} appear more than once in X. Rename or drop "
            "the duplicates: each column must have its own name."
        )
    if not hasattr(X, "dtypes"):
        return
    dates = [
        str(name)
        for name, dtype in X.dtypes.items()
        if pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype)
    ]
    if dates:
        raise DataError(
            f"Column(s) {dates} hold dates, times or durations, which are neither "
            "numbers nor categories. Drop them (keep a timestamp as the index), or "
            "convert them to numbers such as seconds."
        )


def select_columns(X: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Return the columns ``names`` of ``X``, in that order, by name.

    Raises
    ------
    DataError
        Naming the columns ``X`` lacks.
    """
    present = {str(c) for c in X.columns}
    missing = [n for n in names if n not in present]
    if missing:
        shown = ", ".join(repr(n) for n in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise MissingColumnsError(
            f"Column(s) {shown}{more} were used in training but are missing from "
            "the data. Add them, or refit on the columns the data has.",
            missing=missing,
        )
    if [str(c) for c in X.columns] == names:
        return X
    by_name = {str(c): c for c in X.columns}
    return X[[by_name[n] for n in names]]


def numeric_values(
    X: Any, *, allow_nan: bool, names: list[str] | None = None
) -> np.ndarray:
    """Return a table of numbers only as its value matrix (float64 or float32).

    scikit-learn's ``check_array`` reads it; its errors about text, NaN and
    infinity are replaced by ones that name the columns (see
    :func:`explain_bad_values`).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        The table.
    allow_nan : bool
        Whether NaN marks a missing cell (else it is refused).
    names : list of str, default=None
        The fitted column names: ``X`` must have as many columns, and they
        name its columns in messages when it has no names of its own.
        ``None`` in ``fit``.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    try:
        values = check_array(
            X,
            dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan" if allow_nan else True,
        )
    except ValueError as exc:
        explain_bad_values(X, exc, allow_nan=allow_nan, names=names)
        raise
    if names is not None:
        _check_width(values.shape[1], len(names))
    return values


def category_values(
    X: Any,
    categorical: np.ndarray,
    levels: Sequence[list | None],
    names: list[str],
    *,
    allow_nan: bool,
) -> np.ndarray:
    """Return a table with categorical columns as its value matrix.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        The table.
    categorical, levels, names
        As in :func:`table_values`; ``X`` must have one column per name.
    allow_nan : bool
        Whether a missing cell is allowed (else it is refused).

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        See :func:`table_values`.

    Raises
    ------
    DataError
        If ``X`` has another number of columns, or a numeric column holds
        text or infinity (or a missing cell, unless ``allow_nan``).
    """
    frame = as_frame(X)
    _check_width(frame.shape[1], len(names))
    values = table_values(frame, categorical, levels, names)
    explain_bad_values(values, None, allow_nan=allow_nan, names=names)
    return values


def _check_width(n_columns: int, n_features: int) -> None:
    if n_columns != n_features:
        raise DataError(
            f"X has {n_columns} columns; the model was fitted on {n_features}."
        )


def as_frame(X: Any) -> pd.DataFrame:
    """Return ``X`` as a DataFrame, converting an array once (not per column)."""
    return (
        X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
    )


def as_numbers(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """``column`` as numbers (NaN where not), and the positions of its text cells."""
    numbers = pd.to_numeric(column, errors="coerce")
    text = numbers.isna().to_numpy() & column.notna().to_numpy()
    return numbers, np.flatnonzero(text)


def _codes(column: pd.Series, levels: list) -> np.ndarray:
    """Return a column's level codes: ``UNKNOWN_CODE`` if unseen, NaN if missing."""
    missing = column.isna().to_numpy()
    values = (
        column.astype(object)
        if isinstance(column.dtype, pd.CategoricalDtype)
        else column
    )
    codes = pd.Index(levels, dtype=object).get_indexer(values).astype(np.float64)
    codes[missing] = np.nan
    return codes


def table_values(
    X: pd.DataFrame,
    categorical: np.ndarray,
    levels: Sequence[list | None],
    names: Sequence[str],
) -> np.ndarray:
    """Convert a table with categorical columns to the float matrix of values.

    Parameters
    ----------
    X : DataFrame of shape (n_samples, n_features)
        The table (see :func:`as_frame` for arrays).
    categorical : ndarray of bool of shape (n_features,)
        Which columns are categorical.
    levels : sequence of (list or None)
        The levels of each categorical column (``None`` for the others).
    names : sequence of str
        Column names, for messages.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        Numbers, level codes (-1 for unseen levels) and NaN for missing cells.

    Raises
    ------
    DataError
        If a numeric column holds text. Infinity is left for the caller.
    """
    values = np.empty((len(X), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        column = X.iloc[:, j]
        if categorical[j]:
            values[:, j] = _codes(column, levels[j])
            continue
        values[:, j] = number_column(column, str(name), allow_nan=True, allow_inf=True)
    return values


def _cell_error(
    column: pd.Series,
    name: str,
    positions: np.ndarray,
    problem: str,
    what: str,
    fix: str,
) -> CellError:
    """Return a :class:`CellError` for the cells of ``column`` at ``positions``."""
    first = positions[0]
    value = column.iloc[first]
    return CellError(
        f"Column {name!r} {what} ({value!r}), first in row {column.index[first]!r} "
        f"of {positions.size} such cell(s). {fix}",
        column=name,
        row=column.index[first],
        value=value,
        problem=problem,
        count=int(positions.size),
    )


def refuse_missing_cells(column: pd.Series, name: str) -> None:
    """Raise a :class:`CellError` naming a column's first missing cell, if any.

    For a model with ``missing="error"``: the same verdict on a gap for
    numeric and categorical columns (see :func:`number_column`).
    """
    gaps = np.flatnonzero(column.isna().to_numpy())
    if gaps.size:
        raise _cell_error(
            column,
            name,
            gaps,
            "missing",
            "has missing cells",
            "Fill or drop them, or use missing='mask'.",
        )


def refuse_stray_text(column: pd.Series, name: str) -> None:
    """Raise a :class:`CellError` for a column of numbers with a few text tokens.

    A sensor column with an ``"ERR"`` in it has the dtype of text, but its
    values are readings, not levels (see :func:`vaeanomaly._kinds.stray_text`).
    """
    if stray_text(column) is None:
        return
    raise _cell_error(
        column,
        name,
        as_numbers(column)[1],
        "text",
        "holds numbers and text, so its dtype is text",
        "If such values mark missing readings, read the file with "
        "pandas.read_csv(..., na_values=[...]) or replace them with NaN; to model "
        "the column's values as categories, name it in categorical_features.",
    )


def number_column(
    column: pd.Series, name: str, *, allow_nan: bool, allow_inf: bool = False
) -> np.ndarray:
    """Return a column of numbers as float64, or raise a :class:`CellError`.

    The one check of a numeric column's cells, for the estimator and the
    command line: text is refused, and so are infinity and (unless
    ``allow_nan``) missing cells; the error carries the column, the index
    label and value of the first bad cell, and the count.

    Parameters
    ----------
    column : pandas.Series
        The column as read.
    name : str
        Its name, for messages.
    allow_nan : bool
        Whether a missing cell (NaN, None, ``pd.NA``) is allowed.
    allow_inf : bool, default=False
        Leave infinity to the caller (the schema names every column with
        infinity at once, see :func:`explain_bad_values`).

    Returns
    -------
    ndarray of shape (n_rows,)
    """
    numbers, text = as_numbers(column)
    if text.size:
        raise _cell_error(
            column,
            name,
            text,
            "text",
            "holds text where numbers belong",
            "Fix the values, or list the column in categorical_features to model "
            "it as categories.",
        )
    if not allow_nan:
        refuse_missing_cells(column, name)
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = (
        np.array([], dtype=int) if allow_inf else np.flatnonzero(np.isinf(values))
    )
    if infinite.size:
        raise _cell_error(
            column,
            name,
            infinite,
            "infinite",
            "holds infinity",
            "Replace infinite values.",
        )
    return values


def explain_bad_values(
    X: Any,
    cause: Exception | None,
    *,
    allow_nan: bool,
    names: list[str] | None = None,
) -> None:
    """Raise a DataError naming the columns with text, NaN or inf, if any.

    scikit-learn's own checks say that the input contains NaN but not where.
    Arrays that cannot be read as numbers at all, and other failures, are left
    to the error ``cause`` (scikit-learn's, which the caller re-raises). NaN is
    a problem only when ``allow_nan`` is False.
    """
    if hasattr(X, "columns") and hasattr(X, "dtypes"):
        names = [str(c) for c in X.columns]
        text = [
            name
            for name, column in zip(names, X.columns, strict=True)
            if not (
                pd.api.types.is_numeric_dtype(X[column])
                or pd.api.types.is_bool_dtype(X[column])
            )
            and X[column].map(lambda v: isinstance(v, str)).any()
        ]
        if text:
            raise DataError(
                f"Column(s) {text} hold text where numbers belong (could not "
                "convert string to float). Model them as categories with "
                "categorical_features, encode them as numbers, or drop them."
            ) from cause
    if np.iscomplexobj(X):
        return
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return
    if array.ndim != 2:
        return
    nan_counts = np.zeros(array.shape[1], dtype=int)
    if not allow_nan:
        nan_counts = np.isnan(array).sum(axis=0)
    inf_counts = np.isinf(array).sum(axis=0)
    if not (nan_counts.any() or inf_counts.any()):
        return
    names = names or [f"column {j}" for j in range(array.shape[1])]
    if allow_nan:
        problems = [
            f"{names[j]!r} ({inf_counts[j]} inf)" for j in np.flatnonzero(inf_counts)
        ]
        raise DataError(
            f"Input X contains infinity in {', '.join(problems)}. Replace infinite "
            "values (missing cells may be left as NaN)."
        ) from cause
    problems = [
        f"{names[j]!r} ({nan_counts[j]} NaN, {inf_counts[j]} inf)"
        for j in np.flatnonzero(nan_counts + inf_counts)
    ]
    raise DataError(
        f"Input X contains NaN or infinity in {', '.join(problems)}. Fill the "
        "missing values (e.g. SimpleImputer) or drop those rows, or use "
        "missing='mask' to let the model leave them out; replace infinite values."
    ) from cause


def empty_rows(X: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Positions of the rows with no value in any of ``columns``.

    Such a row carries nothing to learn from or score: the schema refuses it
    (:func:`check_observed_rows`), and the command line leaves it out and
    says so.

    Examples
    --------
    >>> empty_rows(pd.DataFrame({"a": [1.0, None], "b": [2.0, None]}), ["a", "b"])
    array([1])
    """
    return np.flatnonzero(X[list(columns)].isna().all(axis=1).to_numpy())


def check_observed_rows(values: np.ndarray) -> None:
    """Refuse rows in which no cell is observed (they carry no evidence).

    Raises
    ------
    DataError
        Naming the first few such rows.
    """
    if values.size == 0:
        return
    rows = np.flatnonzero(np.isnan(values).all(axis=1))
    if rows.size:
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        raise DataError(
            f"{len(rows)} row(s) of X have no observed value (rows {shown}): "
            "every cell is missing, so there is nothing to score. Drop them."
        )
