"""Read model files for the command line, refusing damaged metadata in one line.

A hand-edited or damaged file (a NaN threshold, a zero scale, a list of the
wrong length) would otherwise score silently wrong or end in a traceback.
The checks read only the JSON metadata, so ``info`` uses them too.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from vaeanomaly.exceptions import ModelFileError


def _finite(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _problem(meta: dict) -> str | None:
    """Return what is wrong with a model file's metadata, or ``None``."""
    if not isinstance(meta.get("params"), dict) or not isinstance(
        meta.get("fitted"), dict
    ):
        return "it has no 'params' or 'fitted' block"
    fitted = meta["fitted"]
    n = fitted.get("n_features_in_")
    if not isinstance(n, int) or n < 1:
        return f"n_features_in_ is {n!r}, not a positive integer"
    if not _finite(fitted.get("offset_")):
        return f"the threshold offset_ is {fitted.get('offset_')!r}, not a number"
    for name, positive in (("mean_", False), ("scale_", True)):
        values = fitted.get(name)
        if not isinstance(values, list) or len(values) != n:
            return f"{name} is not a list of {n} numbers"
        bad = [v for v in values if not _finite(v) or (positive and v <= 0)]
        if bad:
            kind = "finite and positive" if positive else "finite"
            return f"{name} holds {bad[0]!r}; every value must be {kind}"
    for name in ("feature_likelihoods_", "feature_names_in_", "categories_"):
        values = fitted.get(name)
        if name == "feature_likelihoods_" and values is None:
            return "feature_likelihoods_ is missing"
        if values is not None and (not isinstance(values, list) or len(values) != n):
            return f"{name} does not have one entry per column ({n})"
    history = fitted.get("history_")
    if not isinstance(history, list):
        return "history_ is missing"
    best = fitted.get("best_epoch_")
    if history and (not isinstance(best, int) or not 1 <= best <= len(history)):
        return f"best_epoch_ is {best!r}, not an epoch of the {len(history)} run"
    hidden = fitted.get("hidden_dims_")
    if not isinstance(hidden, list) or not all(isinstance(h, int) for h in hidden):
        return "hidden_dims_ is not a list of integers"
    if not isinstance(fitted.get("latent_dim_"), int):
        return "latent_dim_ is not an integer"
    sequence = meta.get("sequence")
    if sequence is not None:
        if not isinstance(sequence, dict) or not _finite(sequence.get("offset_")):
            return "the sequence block has no finite offset_"
        baseline = sequence.get("blame_baseline_")
        if not isinstance(baseline, list) or not all(_finite(v) for v in baseline):
            return "the sequence block's blame_baseline_ is not a list of numbers"
    return None


def check_metadata(meta: dict, path: str | Path) -> dict:
    """Raise :class:`ModelFileError` in one line if ``meta`` is damaged."""
    problem = _problem(meta) if isinstance(meta, dict) else "it is not a JSON object"
    if problem:
        raise ModelFileError(
            f"'{path}' is a vaeanomaly model file with damaged metadata: {problem}. "
            "Refit and save the model again."
        )
    return meta


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


def _read(path: str | Path) -> dict:
    from vaeanomaly.io import read_model_metadata

    _check_kind(path)
    try:
        return read_model_metadata(path)
    except ModelFileError as exc:
        if "weights_only" in str(exc).lower() or "weights only" in str(exc).lower():
            raise ModelFileError(
                f"'{path}' is not a vaeanomaly model file: it holds Python objects, "
                "which a model file never does, so it was not loaded. Pass, with "
                "-m, the .vae file that `vaeanomaly fit` wrote."
            ) from exc
        raise


def read_metadata(path: str | Path) -> dict:
    """Read and check a model file's metadata."""
    return check_metadata(_read(path), path)


def load_checked(path: str | Path) -> Any:
    """Load a model after checking its metadata."""
    from vaeanomaly.io import load_model

    read_metadata(path)
    return load_model(path)
