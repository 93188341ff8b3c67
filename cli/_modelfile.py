"""Read model files for the command line, refusing the wrong kind of file in one line.

``vaeanomaly.io.load_model`` refuses damaged or hand-edited contents (a NaN
threshold, a zero scale, a missing training record); this module first names
a file that is not a model at all (a CSV file, a pickle) in the CLI's words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vaeanomaly.exceptions import ModelFileError


def _check_kind(path: str | Path) -> None:
    """Refuse, in our own words, a file that is not a torch archive at all.

    torch's own message for such files may advise ``weights_only=False``,
    which would run code from the file: never pass that advice on.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return  # the reader below reports it
    if head.startswith(b"PK\x03\x04"):  # the zip archive that torch.save writes
        return  # torch.load(weights_only=True) decides
    kind = "an empty file" if not head else "not a torch archive"
    if head.startswith(b"\x80"):
        kind = "a Python pickle, which is never loaded"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        kind = "a text file (a CSV file?)"
    raise ModelFileError(
        f"'{path}' is not a vaeanomaly model file: it is {kind}. Pass, with -m, "
        "the .vae file that `vaeanomaly fit` wrote."
    )


def read_metadata(path: str | Path) -> dict:
    """Read a model file's JSON metadata, after checking what kind of file it is."""
    from vaeanomaly.io import read_model_metadata

    _check_kind(path)
    return read_model_metadata(path)


def load_checked(path: str | Path) -> Any:
    """Load a model; ``load_model`` refuses values that no fit gives."""
    from vaeanomaly.io import load_model

    _check_kind(path)
    return load_model(path)
