"""Defaults that follow a table's width: narrow tables and wide ones.

A wide table (embeddings of images or texts, spectra, hundreds of sensor
readings) has :data:`WIDE_COLUMNS` measured columns or more: numeric
columns that are neither categorical nor 0/1. On such tables the defaults
of narrow ones cost some 40 s a fit at 512 columns and ranked below kNN;
these ranked better and fit about twelve times faster on the embedding
development tables (benchmarks/README.md, "Wide tables"):

- the measured columns get a Gaussian likelihood with one scale per column
  (``"gaussian_column"``), not the heavy-tailed Student-t: an embedding's
  anomaly is off by a little in many columns, and the Student-t's tails
  discount exactly those deviations;
- one hidden layer of :data:`WIDE_HIDDEN_WIDTH` units;
- :data:`WIDE_MAX_EPOCHS` epochs; the validation loss still falls after
  them, but the ranking it gives no longer improves;
- one fit: the ranking fit of ``trim="auto"`` left anomalies in as often
  as out and cost a second fit.

The rule reads only the table's shape (how many measured columns it has), so
it picks the same defaults for the same columns whatever their values. None
of the 23 ADBench development tables (39 columns at most) nor the categorical
tables (whose widest, w7a, has 300 0/1 columns) is wide by it.
"""

from __future__ import annotations

__all__ = [
    "NARROW_MAX_EPOCHS",
    "WIDE_COLUMNS",
    "WIDE_HIDDEN_WIDTH",
    "WIDE_LIKELIHOOD",
    "WIDE_MAX_EPOCHS",
    "auto_max_epochs",
    "is_wide",
]

#: Fewest measured columns of a wide table.
WIDE_COLUMNS = 128

#: Width of the one hidden layer of a wide table's default network.
WIDE_HIDDEN_WIDTH = 128

#: Epochs of ``max_epochs="auto"`` on a wide table.
WIDE_MAX_EPOCHS = 50

#: Epochs of ``max_epochs="auto"`` on a narrow table.
NARROW_MAX_EPOCHS = 200

#: What ``likelihood="auto"`` gives the measured columns of a wide table.
WIDE_LIKELIHOOD = "gaussian_column"


def is_wide(n_measured: int) -> bool:
    """Return whether a table with ``n_measured`` measured columns is wide.

    Parameters
    ----------
    n_measured : int
        Numeric columns that are neither categorical nor 0/1.

    Returns
    -------
    bool
    """
    return n_measured >= WIDE_COLUMNS


def auto_max_epochs(n_measured: int) -> int:
    """Return the epochs of ``max_epochs="auto"`` for ``n_measured`` columns.

    Parameters
    ----------
    n_measured : int
        Numeric columns that are neither categorical nor 0/1.

    Returns
    -------
    int
        :data:`WIDE_MAX_EPOCHS` on a wide table, :data:`NARROW_MAX_EPOCHS`
        on the others.
    """
    return WIDE_MAX_EPOCHS if is_wide(n_measured) else NARROW_MAX_EPOCHS
