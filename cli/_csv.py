"""CSV files of the command line: the format options, reading in chunks, writing.

:class:`CsvFormat` holds what ``--sep``, ``--encoding``, ``--decimal`` and
``--thousands`` say about the files of one run, and reads them: the
separator is sniffed when not given, files are read in chunks so that large
files use bounded memory, and every failure is a
:class:`~vaeanomaly.exceptions.DataError` that says what to pass.
:func:`write_csv` writes output atomically. Nothing here knows about models.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vaeanomaly._atomic import atomic_write
from vaeanomaly.exceptions import DataError

__all__ = [
    "SEPARATORS",
    "CsvFormat",
    "iter_csv",
    "line_of",
    "read_csv",
    "sniff_separator",
    "source_name",
    "write_csv",
]

#: Separators tried when none is given: comma, semicolon (common in sensor
#: exports) and tab.
SEPARATORS = (",", ";", "\t")
_STDIN = "-"


def source_name(source: str | os.PathLike) -> str:
    """Name a source in a message: 'path' in quotes, or standard input."""
    return "standard input" if str(source) == _STDIN else f"'{source}'"


def line_of(row: int) -> int:
    """Return the line of a CSV file that holds data row ``row``.

    Messages name a row by the line number an editor shows: line 1 is the
    header, so data row 0 (the first after the header) is on line 2. pandas
    names lines the same way in its parsing errors ("Expected 3 fields in
    line 5"). Blank lines, which are skipped, and quoted values spanning lines
    put a row further down than this.

    Parameters
    ----------
    row : int
        The data row number, from 0 (a chunk's index).

    Returns
    -------
    int
        The line number, from 1.

    Examples
    --------
    >>> line_of(0)
    2
    """
    return int(row) + 2


def sniff_separator(header: str) -> str:
    """Pick the separator among ``SEPARATORS`` that splits the header line most.

    Parameters
    ----------
    header : str
        The first line of the file.

    Returns
    -------
    str
        The separator; ``","`` when none occurs.

    Examples
    --------
    >>> sniff_separator("datetime;Pressure;Current")
    ';'
    >>> sniff_separator("a,b,c")
    ','
    """
    counts = {}
    for sep in SEPARATORS:
        fields = next(csv.reader([header], delimiter=sep), [])
        counts[sep] = len(fields)
    best = max(SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] > 1 else ","


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _encoding(head: bytes, encoding: str | None) -> str:
    """Return the encoding: the one given, else from a byte order mark, else UTF-8."""
    if encoding:
        return encoding
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return "utf-8"


def _open(
    source: str | os.PathLike, sep: str | None, encoding: str | None = None
) -> tuple[object, str, str]:
    """Return a binary stream for ``source``, the separator and the encoding."""
    if str(source) == _STDIN:
        stream = sys.stdin.buffer
        head = stream.peek(65536) if hasattr(stream, "peek") else b""
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"No file at {source_name(source)}. Check the path.")
        stream = path.open("rb")
        head = stream.read(65536)
        stream.seek(0)
    try:
        if not head.strip():
            raise DataError(
                f"{source_name(source)} is empty: a CSV file with a header line and at "
                "least one row of data is needed."
            )
        encoding = _encoding(head, encoding)
        if sep is None:
            try:
                text = head.decode(encoding, errors="replace")
            except LookupError as exc:
                raise DataError(
                    f"Unknown text encoding {encoding!r}. Pass --encoding with a "
                    "name Python knows, e.g. utf-8, latin-1, cp1252 or utf-16."
                ) from exc
            first_line = (text.lstrip("\ufeff").splitlines() or [""])[0]
            sep = sniff_separator(first_line)
    except BaseException:
        if stream is not sys.stdin.buffer:
            stream.close()  # the caller gets no stream to close
        raise
    return stream, sep, encoding


def _check_header(columns: Sequence, source: str | os.PathLike) -> None:
    """Refuse a first line of numbers: the file has no header line."""
    names = [str(c) for c in columns]
    numbers = pd.to_numeric(pd.Series(names), errors="coerce")
    if numbers.notna().all() and any(("." in n or "e" in n.lower()) for n in names):
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        raise DataError(
            f"{source_name(source)} has no header line: its first line holds numbers "
            f"({shown}), which would be taken as column names and lost as data. "
            "Add a first line naming the columns."
        )


def iter_csv(
    source: str | os.PathLike,
    *,
    sep: str | None = None,
    chunksize: int = 100_000,
    text_columns: Sequence[str] = (),
    encoding: str | None = None,
    decimal: str = ".",
    thousands: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Read a CSV file (or ``"-"`` for stdin) as DataFrames of ``chunksize`` rows.

    Parameters
    ----------
    source : str or path-like
        A path, or ``"-"`` for standard input.
    sep : str, default=None
        Column separator; ``None`` sniffs it among ``SEPARATORS``.
    chunksize : int, default=100_000
        Rows per chunk; memory use is bounded by it, not by the file size.
    text_columns : sequence of str, default=()
        Columns read as text, never parsed as numbers (categories such as
        "007"); names not in the file are ignored.
    encoding : str, default=None
        Text encoding; ``None`` reads a byte order mark (UTF-8 or UTF-16) and
        otherwise assumes UTF-8.
    decimal : str, default="."
        Decimal mark (``","`` in many European exports).
    thousands : str, default=None
        Thousands separator to strip from numbers (e.g. ``","`` in
        ``"1,250.5"``).

    Yields
    ------
    pandas.DataFrame
        Consecutive chunks with a running ``RangeIndex`` (row numbers from 0).

    Raises
    ------
    DataError
        If the file is missing, empty, has no rows or cannot be parsed.
    """
    stream, sep, encoding = _open(source, sep, encoding)
    rows = 0
    try:
        reader = pd.read_csv(
            stream,
            sep=sep,
            chunksize=chunksize,
            low_memory=False,
            dtype=dict.fromkeys(text_columns, str) or None,
            encoding=encoding,
            decimal=decimal,
            thousands=thousands,
        )
        for chunk in reader:
            if rows == 0:
                _check_header(chunk.columns, source)
            if len(chunk) == 0:
                continue
            rows += len(chunk)
            yield chunk
    except pd.errors.EmptyDataError as exc:
        raise DataError(
            f"{source_name(source)} has no header line. Add one naming the columns."
        ) from exc
    except UnicodeError as exc:
        raise DataError(
            f"{source_name(source)} is not {encoding} text ({str(exc).strip()[:120]}). "
            "Pass --encoding with the file's encoding, e.g. latin-1, cp1252 or "
            "utf-16."
        ) from exc
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{source_name(source)} could not be read as CSV with separator {sep!r} "
            f"({str(exc).strip()}). Check the file, or pass --sep."
        ) from exc
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if rows == 0:
        raise DataError(f"{source_name(source)} has a header but no rows of data.")


def read_csv(
    source: str | os.PathLike,
    *,
    sep: str | None = None,
    text_columns: Sequence[str] = (),
    **options,
) -> pd.DataFrame:
    """Read a whole CSV file into one DataFrame (see :func:`iter_csv`).

    Parameters
    ----------
    source : str or path-like
        A path, or ``"-"`` for standard input.
    sep : str, default=None
        Column separator; ``None`` sniffs it.
    text_columns : sequence of str, default=()
        Columns read as text, never parsed as numbers.
    **options
        ``encoding``, ``decimal`` and ``thousands`` of :func:`iter_csv`.

    Returns
    -------
    pandas.DataFrame
    """
    chunks = list(
        iter_csv(
            source,
            sep=sep,
            chunksize=1_000_000,
            text_columns=text_columns,
            **options,
        )
    )
    return pd.concat(chunks) if len(chunks) > 1 else chunks[0]


@dataclass(frozen=True)
class CsvFormat:
    """How the CSV files of a run are written (``--sep`` and its companions).

    Parameters
    ----------
    sep : str, default=None
        Column separator; ``None`` sniffs it among ``SEPARATORS``.
    encoding : str, default=None
        Text encoding; ``None`` reads a byte order mark (UTF-8 or UTF-16) and
        otherwise assumes UTF-8.
    decimal : str, default="."
        Decimal mark (``","`` in many European exports).
    thousands : str, default=None
        Thousands separator to strip from numbers.

    Examples
    --------
    >>> CsvFormat(sep=";", decimal=",")
    CsvFormat(sep=';', encoding=None, decimal=',', thousands=None)
    """

    sep: str | None = None
    encoding: str | None = None
    decimal: str = "."
    thousands: str | None = None

    def chunks(
        self,
        source: str | os.PathLike,
        *,
        chunksize: int = 100_000,
        text_columns: Sequence[str] = (),
    ) -> Iterator[pd.DataFrame]:
        """Read ``source`` in chunks of ``chunksize`` rows (see :func:`iter_csv`)."""
        return iter_csv(
            source, chunksize=chunksize, text_columns=text_columns, **self._options()
        )

    def read(
        self, source: str | os.PathLike, *, text_columns: Sequence[str] = ()
    ) -> pd.DataFrame:
        """Read all of ``source`` into one DataFrame (see :func:`read_csv`)."""
        return read_csv(source, text_columns=text_columns, **self._options())

    def _options(self) -> dict:
        return {
            "sep": self.sep,
            "encoding": self.encoding,
            "decimal": self.decimal,
            "thousands": self.thousands,
        }


def write_csv(
    chunks: Iterable[pd.DataFrame], dest: str | os.PathLike, *, force: bool = False
) -> int:
    """Write DataFrame chunks as one CSV file (or ``"-"`` for stdout).

    A file is written atomically: to a temporary file beside it, moved into
    place only when every chunk is written, so an error midway leaves any
    existing file untouched.

    Parameters
    ----------
    chunks : iterable of pandas.DataFrame
        Consecutive parts of the output, all with the same columns.
    dest : str or path-like
        Output path, or ``"-"`` for standard output.
    force : bool, default=False
        Replace an existing file. Without it, an existing file is an error.

    Returns
    -------
    int
        Number of rows written.
    """
    if str(dest) == _STDIN:
        try:
            return _write_chunks(chunks, sys.stdout)
        finally:
            sys.stdout.flush()
    path = Path(dest)
    if path.exists() and not force:
        raise DataError(
            f"'{path}' already exists. Pass --force to replace it, or choose "
            "another --output."
        )
    with atomic_write(path, "w") as handle:
        return _write_chunks(chunks, handle)


def _write_chunks(chunks: Iterable[pd.DataFrame], handle) -> int:
    rows = 0
    for number, chunk in enumerate(chunks):
        chunk.to_csv(handle, header=number == 0, index=False, lineterminator="\n")
        rows += len(chunk)
    return rows
