"""Write files atomically, with the standard library only.

A file is written to a temporary file beside it and moved over it only once
complete, so readers never see half a file and a failed run leaves any old
file as it was. The temporary files are named
``.<name>.vaeanomaly-<host>-<pid>-<random>.tmp``: recognisable as ours, and
carrying the machine (container) and the id of the process that writes them.
They are removed when the block raises, on Ctrl-C, and on SIGTERM (what
``timeout``, systemd and docker send), which the block turns into
``SystemExit(143)`` while it runs. Only SIGKILL can leave one behind; the
next write into that folder removes such stale files: those written on the
same host by a process that is gone. (Files from other hosts or containers
sharing the folder are left alone: their process ids mean nothing here.)

New files get the permissions the umask allows (like ``open``), not
``mkstemp``'s 0600; a file that is replaced keeps its mode.

This module imports nothing outside the standard library, so the CSV layer
(:mod:`vaeanomaly.cli._csv`) can use it without loading torch or scikit-learn.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import signal
import socket
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "exit_on_sigterm", "output_problem", "temp_name"]

_TAG = "vaeanomaly"
_STALE = re.compile(r"^\..+\." + _TAG + r"-([A-Za-z0-9-]*)-(\d+)-[0-9a-f]+\.tmp$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40]


#: Exit status after SIGTERM, as a shell reports it (128 + 15).
SIGTERM_EXIT = 128 + signal.SIGTERM


def temp_name(path: Path) -> Path:
    """Return a fresh temporary path beside ``path``, recognisable as ours."""
    token = secrets.token_hex(4)
    return path.with_name(f".{path.name}.{_TAG}-{_host()}-{os.getpid()}-{token}.tmp")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: a process of another user holds that id
        return True
    return True


def remove_stale(folder: Path) -> list[Path]:
    """Remove our temporary files in ``folder`` whose writing process is gone.

    Only files written on this host (container) count: elsewhere, process ids
    mean something else.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    host = _host()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _STALE.match(entry.name)
        if match is None or match.group(1) != host or _alive(int(match.group(2))):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _raise_exit(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    raise SystemExit(SIGTERM_EXIT)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit(143)`` for the rest of the process.

    ``finally`` blocks and context managers then run, as on Ctrl-C, so
    temporary files are removed. Call it from a program's entry point (the
    command line does); it does nothing outside the main thread.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_exit)


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the block runs, SIGTERM raises SystemExit unless a handler is set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def output_problem(path: str | os.PathLike, *, force: bool = False) -> str | None:
    """Say why ``path`` cannot be written, before any work is done; ``None`` if fine.

    Checks that ``path`` is not a folder, does not exist unless ``force``, and
    that its folder exists and is writable.

    Examples
    --------
    >>> output_problem("/no/such/folder/out.csv")
    "The folder '/no/such/folder' of '/no/such/folder/out.csv' does not exist. Create it first, or choose another path."
    """  # noqa: E501
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        return f"'{path}' is a folder. Give a file name."
    if path.exists() and not force:
        return (
            f"'{path}' already exists. Pass --force to replace it, or choose "
            "another path."
        )
    if not folder.is_dir():
        return (
            f"The folder '{folder}' of '{path}' does not exist. Create it first, or "
            "choose another path."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"Cannot write '{path}': the folder '{folder}' is not writable. Choose "
            "another path, or change the folder's permissions."
        )
    if path.exists() and not os.access(path, os.W_OK) and not force:
        return f"Cannot replace '{path}': it is read-only."
    return None


def _new_mode(path: Path) -> int:
    """Return the mode for ``path``: the existing file's, or 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """Return the process's umask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)  # elsewhere: set and restore at once
    os.umask(umask)
    return umask


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path`` and move it over ``path`` on success.

    If the block raises (or the process gets Ctrl-C or SIGTERM), the
    temporary file is removed and ``path`` is left as it was: readers never
    see half a file.

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

    Raises
    ------
    OSError
        When the folder cannot be written; the error names ``path``, not the
        temporary file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_write(target, "w") as handle:
    ...     _ = handle.write("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    remove_stale(path.parent)
    tmp = temp_name(path)
    wanted = _new_mode(path)
    # The file is created inside the block that removes it: a SIGTERM that
    # lands as soon as it exists (before any write) must not leave it behind.
    with _sigterm_raises():
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as exc:
                reason = exc.strerror or errno.errorcode.get(exc.errno, str(exc))
                raise type(exc)(
                    exc.errno, f"{reason} (writing beside it)", str(path)
                ) from exc
            os.fchmod(fd, wanted)
            with os.fdopen(
                fd, mode, **({} if "b" in mode else {"newline": ""})
            ) as handle:
                yield handle
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
