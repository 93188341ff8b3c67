"""From a table's value matrix to what the VAE reads: inputs, targets, mask.

The table schema (:mod:`vaeanomaly._schema`) validates the user's table and
turns it into one float matrix of *values*: numbers stay numbers, a
categorical cell becomes the code of its level (0, 1, ...; -1 for a level not
seen in training) and a missing cell becomes NaN. :class:`TableEncoder`
turns a batch of values into the three arrays of
:class:`~vaeanomaly._model.Rows`: the encoder's inputs (standardized numbers,
one-hot levels, zero for a missing cell plus a missing indicator), the
targets the likelihood scores (one per column) and the mask of observed
cells. It checks nothing: what it is given has passed the schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_STANDARDIZED", "TableEncoder"]

#: Largest distance from a column's mean, in its standard deviations, that
#: the model is shown. Readings beyond it (a logger's 1e308 sentinel) are
#: scored as if they lay at it: the lowest scores of any table, but finite,
#: where their square would overflow float64 to infinity.
MAX_STANDARDIZED = 1e6


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
        self, values: np.ndarray, *, bounded: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return ``(inputs, targets, mask)`` for a value matrix.

        Parameters
        ----------
        values : ndarray of shape (n_rows, n_features)
            The schema's value matrix (see
            :meth:`~vaeanomaly._schema.TableSchema.transform`).
        bounded : bool, default=False
            Clip standardized numbers to +-:data:`MAX_STANDARDIZED`, so that
            scoring gives any finite cell a finite score. Training leaves them
            as they are: a fit on such values should fail and say so.

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
        values = np.asarray(values, dtype=np.float64)
        observed = ~np.isnan(values)
        mask = None if observed.all() else observed
        with np.errstate(over="ignore", invalid="ignore"):
            targets = (values - self.mean) / self.scale
        if bounded:  # beyond MAX_STANDARDIZED SDs every value is as unlikely
            np.clip(targets, -MAX_STANDARDIZED, MAX_STANDARDIZED, out=targets)
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
