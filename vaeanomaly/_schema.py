"""The fitted description of a table: the one validator of the data.

:class:`TableSchema` learns, in ``fit``, what a table looks like to the model:
the column names, which columns are categories and their levels, the
likelihood head of each column, which columns had gaps (and so get a missing
indicator), and the mean, scale and resolution of the measured columns. It
then checks new tables against that description (``transform``) and encodes
them for the network (``encode``). Every problem with the data is a
:class:`~vaeanomaly.exceptions.DataError` that names the column.

The schema imports neither torch nor the likelihood heads: the estimator
passes the head registry in (``heads``), and each head class declares what it
accepts (``value_range``) and whether its column is standardized
(``standardized``), so adding a likelihood means one class and one registry
entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array

from vaeanomaly._encoding import (
    TableEncoder,
    as_frame,
    categorical_columns,
    check_no_dates,
    column_levels,
    column_resolution,
    explain_bad_values,
    table_values,
)
from vaeanomaly._names import CATEGORICAL
from vaeanomaly.exceptions import DataError

__all__ = ["TableSchema"]

#: Heads that ``likelihood="auto"`` picks: 0/1 columns and the others.
AUTO_BINARY = "bernoulli"
AUTO_CONTINUOUS = "student_t_column"


def _as_data_error(exc: ValueError) -> DataError:
    error = DataError(str(exc))
    error.__cause__ = exc.__cause__ or exc
    return error


class TableSchema:
    """What a table looks like to the model; validates and encodes tables.

    Parameters
    ----------
    heads : mapping of str to type
        The likelihood registry (``vaeanomaly.likelihoods.HEADS``): each class
        has the attributes ``standardized`` (bool) and ``value_range``
        (``None`` or a ``(low, high)`` pair its values must lie in).
    likelihood : str, default="auto"
        Head of the non-categorical columns: a key of ``heads``, or
        ``"auto"`` (Bernoulli for 0/1 columns, ``"student_t_column"`` else).
    categorical_features : "from_dtype", None or sequence, default="from_dtype"
        Which columns are categories (see ``VAEAnomalyDetector``).
    missing : {"mask", "error"}, default="mask"
        Whether NaN marks a missing cell or is refused.
    standardize : bool, default=True
        Learn the mean and scale of each standardized column.
    dequantize : bool, default=True
        Learn the resolution (smallest step) of each standardized column.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns.
    feature_names_in_ : ndarray of str or None
        Column names when the table had string column names, else ``None``.
    names_ : list of str
        Names for messages (``x0``, ``x1``, ... without column names).
    categories_ : list of (list or None)
        The levels of each categorical column, ``None`` for the others.
    heads_ : list of str
        The head of each column (``"categorical"`` for categories).
    indicators_ : ndarray of bool of shape (n_features,)
        Columns that had gaps in ``fit``: the encoder gets a 0/1 missing
        indicator for each.
    mean_, scale_ : ndarray of shape (n_features,)
        Standardization (0 and 1 for columns that are not standardized).
    resolution_ : ndarray of shape (n_features,)
        Smallest step between the values of each standardized column, in
        its own units (0 where not learned).
    """

    def __init__(
        self,
        *,
        heads: Mapping[str, type],
        likelihood: str = "auto",
        categorical_features: Any = "from_dtype",
        missing: str = "mask",
        standardize: bool = True,
        dequantize: bool = True,
    ) -> None:
        self.heads = heads
        self.likelihood = likelihood
        self.categorical_features = categorical_features
        self.missing = missing
        self.standardize = standardize
        self.dequantize = dequantize

    # ------------------------------------------------------------ learning
    def fit_transform(self, X: Any) -> np.ndarray:
        """Learn the schema from ``X`` and return its value matrix.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            The training table.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            Numbers, level codes and NaN for missing cells.

        Raises
        ------
        DataError
            If a column holds values its head cannot model.
        """
        check_no_dates_as_data_error(X)
        categorical = self._categorical_mask(X)
        if categorical is None:
            values = self._numeric_values(X)
            n_features = values.shape[1]
            self._set_names(X, n_features)
            self.categories_ = [None] * n_features
        else:
            frame = as_frame(X if hasattr(X, "iloc") else np.asarray(X, dtype=object))
            self._set_names(X, frame.shape[1])
            self.categories_ = [
                column_levels(frame.iloc[:, j]) if c else None
                for j, c in enumerate(categorical)
            ]
            empty = [
                n
                for n, lv in zip(self.names_, self.categories_, strict=True)
                if lv == []
            ]
            if empty:
                raise DataError(
                    f"Categorical column(s) {empty} have no values in X (every cell "
                    "is missing), so they have no levels to learn. Drop them."
                )
            values = self._category_values(frame)
        self._check_empty_rows(values)
        self.heads_ = self._column_heads(values)
        self.indicators_ = np.isnan(values).any(axis=0)
        self._fit_scaling(values)
        return values

    def fit(self, X: Any) -> TableSchema:
        """Learn the schema from ``X`` (see :meth:`fit_transform`).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            The training table.

        Returns
        -------
        self : TableSchema
        """
        self.fit_transform(X)
        return self

    def _set_names(self, X: Any, n_features: int) -> None:
        self.n_features_in_ = n_features
        columns = getattr(X, "columns", None)
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(list(columns), dtype=object)
            self.names_ = [str(c) for c in columns]
        else:
            self.feature_names_in_ = None
            self.names_ = [f"x{j}" for j in range(n_features)]

    def _categorical_mask(self, X: Any) -> np.ndarray | None:
        spec = self.categorical_features
        if spec is None or (isinstance(spec, str) and not hasattr(X, "dtypes")):
            return None
        shape = np.shape(X)
        if len(shape) != 2:
            return None  # check_array gives scikit-learn's message
        names = (
            [str(c) for c in X.columns]
            if hasattr(X, "columns")
            else [f"x{j}" for j in range(shape[1])]
        )
        try:
            mask = categorical_columns(X, spec, names, shape[1])
        except ValueError as exc:
            raise _as_data_error(exc) from exc
        return mask if mask.any() else None

    def _column_heads(self, values: np.ndarray) -> list[str]:
        categorical = self.is_categorical
        observed = ~np.isnan(values)
        if self.likelihood == "auto":
            binary = np.all((values == 0) | (values == 1) | ~observed, axis=0)
            binary &= observed.any(axis=0)
            heads = [AUTO_BINARY if b else AUTO_CONTINUOUS for b in binary]
        else:
            heads = [self.likelihood] * values.shape[1]
            value_range = getattr(self.heads[self.likelihood], "value_range", None)
            if value_range is not None:
                low, high = value_range
                outside = ((values < low) | (values > high)) & observed
                outside = outside.any(axis=0) & ~categorical
                if outside.any():
                    bad = [self.names_[j] for j in np.flatnonzero(outside)]
                    raise DataError(
                        f"likelihood={self.likelihood!r} needs values in "
                        f"[{low:g}, {high:g}], but column(s) {bad} hold other "
                        "values. Scale them to that range (e.g. MinMaxScaler) or "
                        "use likelihood='auto'."
                    )
        return [
            CATEGORICAL if c else h for c, h in zip(categorical, heads, strict=True)
        ]

    def _fit_scaling(self, values: np.ndarray) -> None:
        n_features = values.shape[1]
        self.mean_ = np.zeros(n_features)
        self.scale_ = np.ones(n_features)
        self.resolution_ = np.zeros(n_features)
        standardized = self.standardized
        observed = ~np.isnan(values)
        has_values = standardized & observed.any(axis=0)
        if self.standardize and has_values.any():
            columns = values[:, has_values]
            if observed[:, has_values].all():
                mean, std = columns.mean(axis=0), columns.std(axis=0)
            else:
                mean, std = np.nanmean(columns, axis=0), np.nanstd(columns, axis=0)
            self.mean_[has_values] = mean
            self.scale_[has_values] = np.where(std > 0, std, 1.0)
        if self.dequantize and standardized.any():
            self.resolution_[standardized] = column_resolution(values[:, standardized])

    # ---------------------------------------------------------- validation
    def transform(self, X: Any) -> np.ndarray:
        """Check a table against the schema and return its value matrix.

        A DataFrame with the fitted column names may hold them in any order
        and hold other columns too; the fitted ones are taken by name.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            The table to check.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            Numbers, level codes (-1 for a level not seen in ``fit``) and NaN
            for missing cells.

        Raises
        ------
        DataError
            If a fitted column is missing, or holds text, infinity, or NaN
            with ``missing="error"``, or a row has no observed cell.
        """
        check_no_dates_as_data_error(X)
        if self.feature_names_in_ is not None and hasattr(X, "columns"):
            X = self._select_columns(X)
        if self.is_categorical.any():
            frame = as_frame(X if hasattr(X, "iloc") else np.asarray(X, dtype=object))
            if frame.shape[1] != self.n_features_in_:
                raise DataError(
                    f"X has {frame.shape[1]} columns; the model was fitted on "
                    f"{self.n_features_in_}."
                )
            values = self._category_values(frame)
        else:
            values = self._numeric_values(X)
            if values.shape[1] != self.n_features_in_:
                raise DataError(
                    f"X has {values.shape[1]} columns; the model was fitted on "
                    f"{self.n_features_in_}."
                )
        self._check_empty_rows(values)
        return values

    def _select_columns(self, X: pd.DataFrame) -> pd.DataFrame:
        present = {str(c) for c in X.columns}
        missing = [n for n in self.names_ if n not in present]
        if missing:
            shown = ", ".join(repr(n) for n in missing[:10])
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise DataError(
                f"Column(s) {shown}{more} were used in training but are missing from "
                "the data. Add them, or refit on the columns the data has."
            )
        if [str(c) for c in X.columns] == self.names_:
            return X
        by_name = {str(c): c for c in X.columns}
        return X[[by_name[n] for n in self.names_]]

    def _numeric_values(self, X: Any) -> np.ndarray:
        allow_nan = self.missing == "mask"
        try:
            return check_array(
                X,
                dtype=[np.float64, np.float32],
                ensure_all_finite="allow-nan" if allow_nan else True,
            )
        except ValueError as exc:
            try:
                explain_bad_values(
                    X, exc, allow_nan=allow_nan, names=getattr(self, "names_", None)
                )
            except ValueError as explained:
                raise _as_data_error(explained) from exc
            raise

    def _category_values(self, frame: pd.DataFrame) -> np.ndarray:
        try:
            values = table_values(
                frame, self.is_categorical, self.categories_, self.names_
            )
            explain_bad_values(
                values, None, allow_nan=self.missing == "mask", names=self.names_
            )
        except ValueError as exc:
            raise _as_data_error(exc) from exc
        return values

    def _check_empty_rows(self, values: np.ndarray) -> None:
        """Refuse rows in which no cell is observed (they carry no evidence)."""
        if self.missing != "mask" or values.size == 0:
            return
        empty = np.isnan(values).all(axis=1)
        if empty.any():
            rows = np.flatnonzero(empty)
            shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
            raise DataError(
                f"{len(rows)} row(s) of X have no observed value (rows {shown}): "
                "every cell is missing, so there is nothing to score. Drop them."
            )

    # ------------------------------------------------------------ encoding
    @property
    def is_categorical(self) -> np.ndarray:
        """Which columns are categories, as a bool array."""
        return np.array([lv is not None for lv in self.categories_], dtype=bool)

    @property
    def standardized(self) -> np.ndarray:
        """Which columns the heads read centred and scaled (measured columns)."""
        return np.array(
            [
                h != CATEGORICAL and bool(getattr(self.heads[h], "standardized", False))
                for h in self.heads_
            ],
            dtype=bool,
        )

    @property
    def encoder(self) -> TableEncoder:
        """The encoder of value matrices into the network's arrays."""
        cached = self.__dict__.get("_encoder")
        if cached is None:
            cached = TableEncoder(
                mean=self.mean_,
                scale=self.scale_,
                levels=self.categories_,
                indicators=self.indicators_,
            )
            self._encoder = cached
        return cached

    @property
    def n_inputs(self) -> int:
        """Width of the encoder's input."""
        return self.encoder.n_inputs

    @property
    def n_levels(self) -> list[int]:
        """Number of levels of each categorical column, in table order."""
        return self.encoder.n_levels

    @property
    def min_scales(self) -> np.ndarray:
        """Resolution of each column in standardized units (see ``scale_floors``)."""
        return self.resolution_ / self.scale_

    def encode(
        self, values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return the network's ``(inputs, targets, mask)`` for a value matrix.

        Parameters
        ----------
        values : ndarray of shape (n_rows, n_features)
            Output of :meth:`transform`.

        Returns
        -------
        inputs : ndarray of shape (n_rows, n_inputs)
        targets : ndarray of shape (n_rows, n_features)
        mask : ndarray of bool of shape (n_rows, n_features) or None
            True where observed; ``None`` when every cell is.
        """
        return self.encoder.encode(np.asarray(values, dtype=np.float64))

    # ---------------------------------------------------------- model files
    def _get_state(self) -> dict:
        return {
            name: value
            for name, value in vars(self).items()
            if name.endswith("_") and not name.startswith("_")
        }

    def _set_state(self, state: dict) -> None:
        vars(self).update(state)
        self.__dict__.pop("_encoder", None)

    def __getstate__(self) -> dict:
        state = dict(vars(self))
        state.pop("_encoder", None)
        return state

    def __repr__(self) -> str:
        fitted = hasattr(self, "heads_")
        return (
            f"TableSchema({self.n_features_in_} columns)" if fitted else "TableSchema()"
        )


def check_no_dates_as_data_error(X: Any) -> None:
    """Refuse duplicate column names and columns of dates, as ``DataError``."""
    columns = getattr(X, "columns", None)
    if columns is not None and columns.has_duplicates:
        twice = sorted({str(c) for c in columns[columns.duplicated()]})
        raise DataError(
            f"Column name(s) {twice} appear more than once in X. Rename or drop "
            "the duplicates: each column must have its own name."
        )
    try:
        check_no_dates(X)
    except ValueError as exc:
        raise _as_data_error(exc) from exc
