"""Training progress on stderr: click's bar on a terminal, a few lines elsewhere."""

from __future__ import annotations

import sys
from typing import Any

import click


def progress_bar(length: int, label: str, quiet: bool) -> Any:
    """Return a progress display on stderr for ``length`` steps.

    click's bar on a terminal; elsewhere (a log file, a CI job) a few lines,
    as click's hidden bar would print its label again at every change, which
    is every epoch for the training bar; nothing when ``quiet``.
    """
    if quiet:
        return click.progressbar(length=length, label=label, file=_Null())
    if not sys.stderr.isatty():
        return _ProgressLines(length, label)
    return click.progressbar(length=length, label=label, file=sys.stderr)


class _ProgressLines:
    """Progress as lines on stderr: at the start, every tenth, and at the end.

    Takes the part of click's progress bar that the training uses: ``label``,
    ``pos``, ``length``, ``update`` and the ``with`` block.
    """

    def __init__(self, length: int, label: str, lines: int = 10) -> None:
        self.label, self.pos, self._lines = label, 0, lines
        self.length = length

    @property
    def length(self) -> int:
        """Steps in all; setting it (once the size is known) re-spaces the lines."""
        return self._length

    @length.setter
    def length(self, length: int) -> None:
        self._length = max(length, 1)
        self._step = self._length / self._lines
        self._next = self._step
        while self._next <= self.pos:
            self._next += self._step

    def __enter__(self) -> _ProgressLines:
        self._echo()
        return self

    def __exit__(self, *exc_info) -> None:
        pass

    def update(self, steps: int) -> None:
        """Advance by ``steps``; print a line on crossing a tenth, or at the end."""
        before, self.pos = self.pos, min(self.pos + steps, self.length)
        if (self.pos == self.length and before < self.length) or self.pos >= self._next:
            self._echo()
        while self._next <= self.pos:
            self._next += self._step

    def _echo(self) -> None:
        click.echo(f"{self.label} {self.pos / self.length:.0%}", err=True)


class _Null:
    def write(self, _):
        pass

    def flush(self):
        pass

    def isatty(self):
        return False
