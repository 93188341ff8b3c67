"""CSV files of the command line: the format options, reading in chunks, writing.

:class:`CsvFormat` holds what ``--sep``, ``--encoding``, ``--decimal``,
``--thousands`` and ``--compression`` say about the files of one run, and
reads them: the separator is sniffed when not given, compressed files are
decompressed as they stream (by their extension, or as ``--compression``
says), files are read in chunks so that large files use bounded memory, and
every failure is a
:class:`~vaeanomaly.exceptions.DataError` that says what to pass.
:func:`write_csv` writes output atomically. Nothing here knows about models.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import os
import sys
import zipfile
from collections import Counter
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

#: Compression of a file by its extension, for ``compression="infer"``.
COMPRESSIONS = {
    ".gz": "gzip",
    ".bz2": "bz2",
    ".xz": "xz",
    ".zip": "zip",
    ".zst": "zstd",
}
_BUFFER = 1 << 20  # bytes: the header must fit in what one peek returns


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


def _zip_member(raw: object, source: str | os.PathLike) -> object:
    """Open the one CSV file inside a zip archive for reading."""
    if not raw.seekable():  # standard input: a zip's index sits at its end
        raw = io.BytesIO(raw.read())
    archive = zipfile.ZipFile(raw)
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        names = [m.filename for m in members][:5]
        raise DataError(
            f"{source_name(source)} is a zip archive of {len(members)} files "
            f"{names}; it must hold exactly one CSV file. Extract the one to read."
        )
    return archive.open(members[0])


def _decompressed(raw: object, method: str, source: str | os.PathLike) -> object:
    """Return a binary stream of the decompressed bytes of ``raw``."""
    if method == "none":
        return raw
    if method == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if method == "bz2":
        return bz2.BZ2File(raw, mode="rb")
    if method == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    if method == "zip":
        return _zip_member(raw, source)
    try:
        import zstandard
    except ImportError as exc:
        raise DataError(
            f"{source_name(source)} is zstd-compressed, which needs the zstandard "
            "package: pip install zstandard, or decompress the file first."
        ) from exc
    return zstandard.ZstdDecompressor().stream_reader(raw)


def _compression(source: str | os.PathLike, compression: str) -> str:
    """Return the compression of ``source``: as given, or by its extension."""
    if compression != "infer":
        return compression
    if str(source) == _STDIN:
        return "none"
    return COMPRESSIONS.get(Path(source).suffix.lower(), "none")


def _open(
    source: str | os.PathLike,
    sep: str | None,
    encoding: str | None = None,
    compression: str = "infer",
) -> tuple[object, str, str, list[object]]:
    """Open ``source``: a binary stream, the separator, the encoding, what to close.

    The stream holds the decompressed bytes and is buffered, so the header can
    be read before pandas reads the whole.
    """
    if str(source) == _STDIN:
        raw = sys.stdin.buffer
        to_close = []
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"No file at {source_name(source)}. Check the path.")
        raw = path.open("rb", buffering=_BUFFER)  # a wide header fits one peek
        to_close = [raw]
    method = _compression(source, compression)
    try:
        stream = _decompressed(raw, method, source)
        if stream is not raw or not hasattr(stream, "peek"):
            stream = io.BufferedReader(stream, buffer_size=_BUFFER)
            to_close.insert(0, stream)
        try:
            head = stream.peek(_BUFFER)
        except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
            raise DataError(
                f"{source_name(source)} could not be read as {method}-compressed "
                f"data ({exc}). Check the file, or pass --compression with the "
                "right method (none for a plain file)."
            ) from exc
        if not head.strip():
            raise DataError(
                f"{source_name(source)} is empty: a CSV file with a header line and at "
                "least one row of data is needed."
            )
        encoding = _encoding(head, encoding)
        try:
            text = head.decode(encoding, errors="replace")
        except LookupError as exc:
            raise DataError(
                f"Unknown text encoding {encoding!r}. Pass --encoding with a "
                "name Python knows, e.g. utf-8, latin-1, cp1252 or utf-16."
            ) from exc
        lines = text.lstrip("\ufeff").splitlines()
        first_line = (lines or [""])[0]
        if sep is None:
            sep = sniff_separator(first_line)
        if len(lines) > 1:  # the whole header line is in view (stdin peeks less)
            _check_repeated_names(first_line, sep, source)
    except BaseException:
        for handle in to_close:
            handle.close()  # the caller gets no stream to close
        raise
    return stream, sep, encoding, to_close


def _check_repeated_names(header: str, sep: str, source: str | os.PathLike) -> None:
    """Refuse a header that names a column twice (pandas would rename one)."""
    names = next(csv.reader([header], delimiter=sep), []) if len(sep) == 1 else []
    repeated = sorted(name for name, n in Counter(names).items() if n > 1)
    if repeated:
        raise DataError(
            f"{source_name(source)} names the column(s) {repeated} more "
            "than once in its header line. Give each column its own name."
        )


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
    compression: str = "infer",
    na_values: Sequence[str] = (),
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
    compression : {"infer", "none", "gzip", "bz2", "xz", "zip", "zstd"}, \
default="infer"
        How the file is compressed; ``"infer"`` goes by its extension (see
        ``COMPRESSIONS``) and reads standard input as plain text. It is
        decompressed as it streams, chunk by chunk.
    na_values : sequence of str, default=()
        Values read as missing cells, besides empty ones and pandas' defaults.

    Yields
    ------
    pandas.DataFrame
        Consecutive chunks with a running ``RangeIndex`` (row numbers from 0).

    Raises
    ------
    DataError
        If the file is missing, empty, has no rows or cannot be parsed.
    """
    stream, sep, encoding, to_close = _open(source, sep, encoding, compression)
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
            na_values=list(na_values) or None,
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
        for handle in to_close:
            handle.close()
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
        ``encoding``, ``decimal``, ``thousands``, ``compression`` and
        ``na_values`` of :func:`iter_csv`.

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
    compression : str, default="infer"
        How the files are compressed (see :func:`iter_csv`).
    na_values : tuple of str, default=()
        Values read as missing cells (see :func:`iter_csv`).

    Examples
    --------
    >>> CsvFormat(sep=";", decimal=",")
    CsvFormat(sep=';', encoding=None, decimal=',', thousands=None, \
compression='infer', na_values=())
    """

    sep: str | None = None
    encoding: str | None = None
    decimal: str = "."
    thousands: str | None = None
    compression: str = "infer"
    na_values: tuple[str, ...] = ()

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
            "compression": self.compression,
            "na_values": self.na_values,
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
