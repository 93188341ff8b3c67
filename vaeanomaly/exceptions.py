"""Exceptions raised by vaeanomaly.

Each one also subclasses the matching built-in exception, so code that
catches ``ValueError`` keeps working.
"""

__all__ = ["DataError", "ModelFileError", "TrainingError", "VAEAnomalyError"]


class VAEAnomalyError(Exception):
    """Base class of every exception that vaeanomaly raises on purpose."""


class DataError(VAEAnomalyError, ValueError):
    """Input data that cannot be used: missing columns, text in numbers, no rows."""


class ModelFileError(VAEAnomalyError, ValueError):
    """A model file that is not a vaeanomaly model, is damaged, or is too new."""


class TrainingError(VAEAnomalyError, ArithmeticError):
    """Training that cannot go on: the loss became infinite or NaN."""
