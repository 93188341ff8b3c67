"""How the command line reports failures, and with which exit status.

- 0: success.
- 1: anomalies found, only with ``--fail-on-anomaly``.
- 2: wrong usage (click's parsing), bad input data, a bad model file, or an
  output path that cannot be written: one line on stderr, no traceback.
- 3: an internal error (a bug): one line naming it; ``--debug`` shows the
  traceback.
- 130: interrupted with Ctrl-C; 143: stopped with SIGTERM.

A reader of stdout that goes away (``vaeanomaly score big.csv | head -3``)
is not an error: the run stops quietly with status 0.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from vaeanomaly.exceptions import VAEAnomalyError

#: Exit status of an internal error (a bug in vaeanomaly or a library below it).
INTERNAL_ERROR = 3
#: Exit status after Ctrl-C, as a shell reports it (128 + SIGINT).
INTERRUPTED = 130
#: Key of the ``--debug`` flag in ``click.Context.meta``.
DEBUG_KEY = "vaeanomaly.debug"


class CLIError(click.ClickException):
    """A failure caused by the user's input: bad data, a bad model file, a clash."""

    exit_code = 2


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the library's own errors about input into :class:`CLIError`.

    Only :class:`~vaeanomaly.exceptions.VAEAnomalyError` (``DataError``,
    ``ModelFileError``) and failures to read or write files (``OSError``)
    are the user's to fix. Any other exception is a bug: it reaches
    :class:`Group`, which reports it with exit status 3.
    """
    try:
        yield
    except VAEAnomalyError as exc:
        raise CLIError(str(exc)) from exc
    except ValueError as exc:
        if _raised_on_purpose(exc):
            raise CLIError(str(exc)) from exc
        raise
    except BrokenPipeError:
        raise
    except OSError as exc:
        where = f": '{exc.filename}'" if exc.filename else ""
        raise CLIError(f"{exc.strerror or exc}{where}.") from exc


def _raised_on_purpose(exc: ValueError) -> bool:
    """Whether a ``raise ValueError(...)`` of vaeanomaly's own code raised ``exc``.

    Bad data raises ``DataError`` (the table schema is the one validator),
    but a few checks of settings that the command line passes on (``--device
    cuda`` without CUDA, a series shorter than its window) raise a plain
    ``ValueError`` with a message written for the user, as scikit-learn's
    estimators do for bad parameters. Those count as bad input; a
    ``ValueError`` from numpy, pandas, torch or scikit-learn internals is a
    bug.
    """
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    origin = Path(tb.tb_frame.f_code.co_filename).resolve()
    import vaeanomaly

    package = Path(vaeanomaly.__file__).resolve().parent
    return (
        origin.is_relative_to(package)
        and "cli" not in origin.relative_to(package).parts[:1]
    )


class Group(click.Group):
    """A click group that gives internal errors and Ctrl-C their own exit status."""

    def invoke(self, ctx: click.Context):
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
            return result
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # `| head` closed stdout. Left to click, it would exit with 1,
            # which means "anomalies found".
            _discard_stdout()
            raise click.exceptions.Exit(0) from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(INTERRUPTED) from None
        except Exception as exc:
            if ctx.meta.get(DEBUG_KEY):
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:300].rstrip(".")
            click.echo(
                f"Internal error: {type(exc).__name__}: {first}. This is a bug in "
                "vaeanomaly; run the command again with --debug for the traceback, "
                "and report it.",
                err=True,
            )
            raise click.exceptions.Exit(INTERNAL_ERROR) from None


def _discard_stdout() -> None:
    """Send what is left of stdout to the null device once its reader is gone.

    Python flushes ``sys.stdout`` again at exit; to a closed pipe that flush
    would fail too, print "Exception ignored ... BrokenPipeError" and exit
    with 120. Python's documentation of SIGPIPE recommends this redirection.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (CliRunner)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
