"""How the command line reports failures: one line on stderr and exit status 2."""

from collections.abc import Iterator
from contextlib import contextmanager

import click

from vaeanomaly.exceptions import VAEAnomalyError


class CLIError(click.ClickException):
    """A failure caused by the user's input: bad data, a bad model file, a clash."""

    exit_code = 2


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the library's errors about input into :class:`CLIError`.

    ``ValueError`` is included because scikit-learn and the threshold methods
    report bad values with it; other exceptions are bugs and keep their
    traceback.
    """
    try:
        yield
    except (VAEAnomalyError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise CLIError(f"{exc.strerror or exc}: '{exc.filename}'.") from exc
