"""The fitted description of a table: the one validator of the data.

:class:`TableSchema` learns, in ``fit``, what a table looks like to the model:
the column names, which columns are categories and their levels, the
likelihood head of each column, which columns had gaps (and so get a missing
indicator), and the mean, scale and resolution of the measured columns. It
then checks new tables against that description (``transform``), turning
them into the *value matrix* (numbers, level codes, NaN for missing cells)
that its :attr:`~TableSchema.encoder` encodes for the network. Every problem
with the data is a :class:`~vaeanomaly.exceptions.DataError` that names the
column, raised where it is found.

The recordings of :class:`~vaeanomaly.sequence.SequenceVAEDetector` are
checked here too (:func:`channel_frame`, :func:`check_windows_observed`).

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

from vaeanomaly._encoding import TableEncoder
from vaeanomaly._names import CATEGORICAL
from vaeanomaly._values import (
    as_frame,
    as_numbers,
    categorical_columns,
    category_values,
    check_columns,
    check_observed_rows,
    column_levels,
    column_resolution,
    numeric_values,
    select_columns,
)
from vaeanomaly._wide import WIDE_LIKELIHOOD, is_wide
from vaeanomaly.exceptions import DataError

__all__ = ["TableSchema", "channel_frame", "check_windows_observed"]

#: Heads that ``likelihood="auto"`` picks: 0/1 columns and the others.
AUTO_BINARY = "bernoulli"
AUTO_CONTINUOUS = "student_t_column"

#: The fitted attributes, all of which a loaded schema must have.
_FITTED = (
    "n_features_in_",
    "feature_names_in_",
    "names_",
    "categories_",
    "heads_",
    "indicators_",
    "mean_",
    "scale_",
    "resolution_",
)


class TableSchema:
    """What a table looks like to the model; validates tables, gives their encoder.

    Parameters
    ----------
    heads : mapping of str to type
        The likelihood registry (``vaeanomaly.likelihoods.HEADS``): each class
        has the attributes ``standardized`` (bool) and ``value_range``
        (``None`` or a ``(low, high)`` pair its values must lie in).
    likelihood : str, default="auto"
        Head of the non-categorical columns: a key of ``heads``, or
        ``"auto"`` (Bernoulli for 0/1 columns, ``"student_t_column"`` for the
        others, ``"gaussian_column"`` when they make a wide table: see
        :mod:`vaeanomaly._wide`).
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
        check_columns(X)
        categorical = self._categorical_mask(X)
        if categorical is None:
            values = numeric_values(X, allow_nan=self.missing == "mask")
            n_features = values.shape[1]
            self._set_names(X, n_features)
            self.categories_ = [None] * n_features
        else:
            frame = as_frame(X)
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
            values = category_values(
                frame,
                categorical,
                self.categories_,
                self.names_,
                allow_nan=self.missing == "mask",
            )
        check_observed_rows(values)
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
        mask = categorical_columns(X, spec, names, shape[1])
        return mask if mask.any() else None

    def _column_heads(self, values: np.ndarray) -> list[str]:
        categorical = self.is_categorical
        observed = ~np.isnan(values)
        if self.likelihood == "auto":
            binary = np.all((values == 0) | (values == 1) | ~observed, axis=0)
            binary &= observed.any(axis=0)
            measured = ~binary & ~np.asarray(categorical, dtype=bool)
            continuous = WIDE_LIKELIHOOD if is_wide(measured.sum()) else AUTO_CONTINUOUS
            heads = [AUTO_BINARY if b else continuous for b in binary]
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
        check_columns(X)
        if self.feature_names_in_ is not None and hasattr(X, "columns"):
            X = select_columns(X, self.names_)
        allow_nan = self.missing == "mask"
        if self.is_categorical.any():
            values = category_values(
                X,
                self.is_categorical,
                self.categories_,
                self.names_,
                allow_nan=allow_nan,
            )
        else:
            values = numeric_values(X, allow_nan=allow_nan, names=self.names_)
        check_observed_rows(values)
        return values

    # ------------------------------------------------------------ encoding
    @property
    def is_categorical(self) -> np.ndarray:
        """Which columns are categories, as a bool array."""
        return np.array([lv is not None for lv in self.categories_], dtype=bool)

    @property
    def n_measured(self) -> int:
        """Columns modelled as measured values: neither categorical nor Bernoulli."""
        return sum(h not in (CATEGORICAL, AUTO_BINARY) for h in self.heads_)

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

    # ---------------------------------------------------------- model files
    def _get_state(self) -> dict:
        """Return the fitted attributes (the parameters come from the estimator)."""
        return {
            name: value
            for name, value in vars(self).items()
            if name.endswith("_") and not name.startswith("_")
        }

    def _set_state(self, state: dict) -> None:
        """Take back :meth:`_get_state`'s attributes, refusing what no fit gives.

        Raises
        ------
        ValueError
            If an attribute is missing or inconsistent with the others (a
            damaged or hand-edited model file).
        """
        vars(self).update(state)
        self.__dict__.pop("_encoder", None)
        missing = [name for name in _FITTED if name not in vars(self)]
        if missing:
            raise ValueError(f"the table schema's fitted values {missing} are missing")
        problems = self._state_problems()
        if problems:
            raise ValueError("; ".join(problems))

    def _state_problems(self) -> list[str]:
        """Say what in the fitted attributes no fit gives (empty if nothing)."""
        n = self.n_features_in_
        problems = []
        scale = np.asarray(self.scale_, dtype=np.float64)
        if scale.shape != (n,) or not np.all(np.isfinite(scale) & (scale > 0)):
            problems.append("the column scales are not positive finite numbers")
        mean = np.asarray(self.mean_, dtype=np.float64)
        if mean.shape != (n,) or not np.all(np.isfinite(mean)):
            problems.append("the column means are not finite numbers")
        if len(self.heads_) != n:
            problems.append("the number of likelihood heads differs from the columns")
        unknown = [h for h in self.heads_ if h != CATEGORICAL and h not in self.heads]
        if unknown:
            problems.append(f"unknown likelihood heads {unknown}")
        if [lv is not None for lv in self.categories_] != [
            h == CATEGORICAL for h in self.heads_
        ]:
            problems.append("the categorical columns differ from the categorical heads")
        for name in ("indicators_", "resolution_"):
            if np.shape(getattr(self, name)) != (n,):
                problems.append(f"{name} does not have one value per column")
        return problems

    def __getstate__(self) -> dict:
        """Pickle the schema without its encoder (rebuilt on first use)."""
        state = dict(vars(self))
        state.pop("_encoder", None)
        return state

    def __repr__(self) -> str:
        fitted = hasattr(self, "heads_")
        return (
            f"TableSchema({self.n_features_in_} columns)" if fitted else "TableSchema()"
        )


# -------------------------------------------------------- recording checks
def channel_frame(X: Any, channels: list[str] | None = None) -> pd.DataFrame:
    """Check a recording and return its channels as numbers, named as text.

    Channels are known by their names as text (``channels_``), so that a
    frame with integer column labels scores like the one it was fitted on.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_times, n_channels)
        A recording in time order.
    channels : list of str, default=None
        The channels seen in ``fit``: a DataFrame must hold each of them, and
        they are taken in this order (its other columns are left out).
        ``None`` takes every column.

    Returns
    -------
    DataFrame of shape (n_times, n_channels)
        The readings, NaN where missing.

    Raises
    ------
    DataError
        If a fitted channel is missing, or a channel holds text.
    """
    frame = (
        X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=float))
    )
    frame = frame.set_axis([str(name) for name in frame.columns], axis=1)
    if channels is not None and isinstance(X, pd.DataFrame):
        missing = [c for c in channels if c not in frame.columns]
        if missing:
            raise DataError(
                f"Channel(s) {missing} were used in fit but are missing. "
                "Pass a frame with the same channels."
            )
        frame = frame[channels]
    for name, column in frame.items():
        if pd.api.types.is_numeric_dtype(column.dtype):
            continue
        _, text = as_numbers(column)
        if text.size:
            raise DataError(
                f"Channel {name!r} holds text where readings belong "
                f"({column.to_numpy()[text[0]]!r}). A windowed model reads numbers "
                "only: drop or exclude the channel, or encode it as numbers."
            )
    if not all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):
        frame = frame.apply(pd.to_numeric, errors="raise")
    return frame


def check_windows_observed(windows: pd.DataFrame, window: int) -> None:
    """Refuse timestamps whose window holds no reading at all.

    Parameters
    ----------
    windows : DataFrame of shape (n_times, window * n_channels)
        One window per timestamp, indexed by the timestamp.
    window : int
        Readings per window, for the message.

    Raises
    ------
    DataError
        Naming how many timestamps and the first of them.
    """
    blank = np.flatnonzero(windows.isna().to_numpy().all(axis=1))
    if blank.size:
        first = int(blank[0])
        raise DataError(
            f"{blank.size} timestamp(s) have no reading at all in their "
            f"window of {window}, the first at position {first} (index "
            f"{windows.index[first]!r}). Drop that stretch of the recording, or "
            "use a longer window."
        )
