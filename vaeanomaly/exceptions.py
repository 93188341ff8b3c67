"""Exceptions raised by vaeanomaly.

Each one also subclasses the matching built-in exception, so code that
catches ``ValueError`` keeps working.
"""

from typing import Any

__all__ = [
    "CellError",
    "DataError",
    "MissingColumnsError",
    "ModelFileError",
    "TrainingError",
    "VAEAnomalyError",
]


class VAEAnomalyError(Exception):
    """Base class of every exception that vaeanomaly raises on purpose."""


class DataError(VAEAnomalyError, ValueError):
    """Input data that cannot be used: missing columns, text in numbers, no rows."""


class CellError(DataError):
    """A cell that a column's kind does not allow, with where it is.

    The library's validator raises it; a caller that knows more (the command
    line knows the file's line numbers and its flags) words it anew from the
    attributes.

    Attributes
    ----------
    column : str
        The column's name.
    row : object
        The index label of the first such cell.
    value : object
        Its value.
    problem : {"text", "missing", "infinite"}
        Text in a column of numbers, a missing cell where none is allowed, or
        infinity.
    count : int
        How many cells of the column have the problem.
    """

    def __init__(
        self,
        message: str,
        *,
        column: str,
        row: Any,
        value: Any,
        problem: str,
        count: int,
    ) -> None:
        super().__init__(message)
        self.column, self.row, self.value = column, row, value
        self.problem, self.count = problem, count


class MissingColumnsError(DataError):
    """Columns a fitted model needs are not in the data (``missing``, in order)."""

    def __init__(self, message: str, *, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing


class ModelFileError(VAEAnomalyError, ValueError):
    """A model file that is not a vaeanomaly model, is damaged, or is too new."""


class TrainingError(VAEAnomalyError, ArithmeticError):
    """Training that cannot go on: the loss became infinite or NaN."""
