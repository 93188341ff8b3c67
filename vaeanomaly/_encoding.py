"""From a table to what the VAE reads: values, encoder inputs, targets, mask.

Two steps, both numpy and pandas only:

1. :func:`table_values` turns the user's table into one float matrix of
   *values*: numbers stay numbers, a categorical cell becomes the code of its
   level (0, 1, ...; -1 for a level not seen in training) and a missing cell
   (NaN, None, ``pd.NA``) becomes NaN. The estimator validates, batches and
   passes around this matrix only.
2. :class:`TableEncoder` turns a batch of values into the three arrays of
   :class:`~vaeanomaly._model.Rows`: the encoder's inputs (standardized
   numbers, one-hot levels, zero for a missing cell plus a missing indicator),
   the targets the likelihood scores (one per column) and the mask of
   observed cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "TableEncoder",
    "as_frame",
    "categorical_columns",
    "check_no_dates",
    "column_resolution",
    "column_levels",
    "explain_bad_values",
    "table_values",
]

#: Code of a level that was not seen in training (see
#: ``vaeanomaly.likelihoods.UNKNOWN_LEVEL_MASS``).
UNKNOWN_CODE = -1.0


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
    """
    mask = np.zeros(n_features, dtype=bool)
    if spec is None:
        return mask
    if isinstance(spec, str):  # "from_dtype"; other strings are refused by fit
        if hasattr(X, "dtypes"):
            mask[:] = [_is_categorical_dtype(dtype) for dtype in X.dtypes]
        return mask
    items = list(spec)
    if items and all(isinstance(v, (bool, np.bool_)) for v in items):
        if len(items) != n_features:
            raise ValueError(
                f"categorical_features as a boolean mask needs one entry per column "
                f"({n_features}); got {len(items)}."
            )
        return np.asarray(items, dtype=bool)
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not -n_features <= item < n_features:
                raise ValueError(
                    f"categorical_features holds column index {item}, but X has "
                    f"{n_features} columns. Use indices in [0, {n_features - 1}]."
                )
            mask[item] = True
        elif str(item) in names:
            mask[list(names).index(str(item))] = True
        else:
            raise ValueError(
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
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = list(column.cat.categories)
    else:
        try:
            levels = list(pd.unique(column.dropna()))
        except TypeError as exc:
            raise ValueError(
                f"Column {str(column.name)!r} holds values that cannot be categories "
                f"({exc}). Convert them to text (e.g. .astype(str)) or drop the column."
            ) from exc
        try:
            levels = sorted(levels)
        except TypeError:  # mixed types: keep the order of first appearance
            pass
    return [_jsonable(level) for level in levels]


def as_frame(X: Any) -> pd.DataFrame:
    """Return ``X`` as a DataFrame, converting an array once (not per column)."""
    return (
        X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
    )


def _codes(column: pd.Series, levels: list) -> np.ndarray:
    """Level codes of a column as floats: -1 for unseen levels, NaN for missing."""
    missing = column.isna().to_numpy()
    values = (
        column.astype(object)
        if isinstance(column.dtype, pd.CategoricalDtype)
        else column
    )
    codes = pd.Index(levels, dtype=object).get_indexer(values).astype(np.float64)
    codes[missing] = np.nan
    return codes


def check_no_dates(X: Any) -> None:
    """Raise a ValueError naming DataFrame columns of dates, times or durations.

    They are neither numbers nor categories; numpy's own error about
    promoting ``DateTime64DType`` does not say which column or what to do.
    """
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
        raise ValueError(
            f"Column(s) {dates} hold dates, times or durations, which are neither "
            "numbers nor categories. Drop them (keep a timestamp as the index), or "
            "convert them to numbers such as seconds."
        )


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
    ValueError
        If a numeric column holds text. Infinity is left for the caller.
    """
    values = np.empty((len(X), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        column = X.iloc[:, j]
        if categorical[j]:
            values[:, j] = _codes(column, levels[j])
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        text = numbers.isna().to_numpy() & column.notna().to_numpy()
        if text.any():
            first = column.to_numpy()[np.flatnonzero(text)[0]]
            raise ValueError(
                f"Column {name!r} holds text where numbers belong ({first!r}). Fix "
                "the values, or list the column in categorical_features to model "
                "it as categories."
            )
        values[:, j] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


@dataclass
class TableEncoder:
    """Turn value matrices into the encoder inputs, targets and mask.

    Parameters
    ----------
    mean, scale : ndarray of shape (n_features,)
        Standardization of each column (0 and 1 for non-Gaussian columns).
    levels : list of (list or None)
        Levels of each categorical column, ``None`` for the others.
    indicators : ndarray of bool of shape (n_features,)
        Columns whose missingness the encoder sees as an extra 0/1 input:
        those that had missing cells in training. A column that had none is
        zero-filled when a cell is missing later (its standardized mean), and
        its likelihood term is left out all the same.
    """

    mean: np.ndarray
    scale: np.ndarray
    levels: list[list | None]
    indicators: np.ndarray

    def __post_init__(self) -> None:
        self._categorical = np.array([lv is not None for lv in self.levels], bool)
        widths = [1 if lv is None else len(lv) for lv in self.levels]
        self._offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(int)
        self._n_direct = int(np.sum(widths))
        self.n_inputs = self._n_direct + int(self.indicators.sum())
        self._plain = not self._categorical.any() and not self.indicators.any()

    @property
    def n_levels(self) -> list[int]:
        """Number of levels of each categorical column, in table order."""
        return [len(lv) for lv in self.levels if lv is not None]

    def encode(
        self, values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return ``(inputs, targets, mask)`` for a value matrix.

        Parameters
        ----------
        values : ndarray of shape (n_rows, n_features)
            Output of :func:`table_values` (or a numeric matrix with NaN gaps).

        Returns
        -------
        inputs : ndarray of shape (n_rows, n_inputs)
            The encoder's input; the same array as ``targets`` for a numeric
            table without indicators.
        targets : ndarray of shape (n_rows, n_features)
            Standardized numbers, 0/1 flags and level codes; 0 where missing.
        mask : ndarray of bool of shape (n_rows, n_features) or None
            True where observed; ``None`` when every cell is.
        """
        observed = ~np.isnan(values)
        mask = None if observed.all() else observed
        targets = (values - self.mean) / self.scale
        if mask is not None:
            targets[~mask] = 0.0
        if self._plain:
            return targets, targets, mask
        inputs = np.zeros((values.shape[0], self.n_inputs))
        direct = np.flatnonzero(~self._categorical)
        inputs[:, self._offsets[direct]] = targets[:, direct]
        rows = np.arange(values.shape[0])
        for j in np.flatnonzero(self._categorical):
            codes = targets[:, j].astype(np.int64)
            known = observed[:, j] & (codes >= 0)
            inputs[rows[known], self._offsets[j] + codes[known]] = 1.0
        inputs[:, self._n_direct :] = ~observed[:, self.indicators]
        return inputs, targets, mask


def explain_bad_values(
    X: Any,
    cause: Exception | None,
    *,
    allow_nan: bool,
    names: list[str] | None = None,
) -> None:
    """Raise a ValueError naming the columns with text, NaN or inf, if any.

    scikit-learn's own checks say that the input contains NaN but not where.
    Arrays that cannot be read as numbers at all, and other failures, are left
    to ``validate_data``'s error ``cause``. NaN is a problem only when
    ``allow_nan`` is False.
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
            raise ValueError(
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
        raise ValueError(
            f"Input X contains infinity in {', '.join(problems)}. Replace infinite "
            "values (missing cells may be left as NaN)."
        ) from cause
    problems = [
        f"{names[j]!r} ({nan_counts[j]} NaN, {inf_counts[j]} inf)"
        for j in np.flatnonzero(nan_counts + inf_counts)
    ]
    raise ValueError(
        f"Input X contains NaN or infinity in {', '.join(problems)}. Fill the "
        "missing values (e.g. SimpleImputer) or drop those rows, or use "
        "missing='mask' to let the model leave them out; replace infinite values."
    ) from cause


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
