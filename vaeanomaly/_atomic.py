"""Atomic file writes, with the standard library only.

The CSV layer and the model files both write through :func:`atomic_write`, so
a reader never sees half a file, and the CSV layer imports neither torch nor
scikit-learn.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_write"]


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path`` and move it over ``path`` on success.

    If the block raises, the temporary file is removed and ``path`` is left as
    it was: readers never see half a file.

    Parameters
    ----------
    path : str or path-like
        Final location.
    mode : {"wb", "w"}, default="wb"
        Binary or text mode.

    Yields
    ------
    file object
        The open temporary file.
    """
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": ""})) as handle:
            yield handle
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
