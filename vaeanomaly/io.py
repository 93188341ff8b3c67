"""Model files: a fitted detector written to disk and read back, running no code.

A model file is one ``torch.save`` archive with two entries: ``metadata``, a
JSON string, and ``tensors``, a flat dict of tensors. It is read with
``torch.load(weights_only=True)``, which refuses anything but tensors and
plain containers, so loading a model that someone sent you runs no code.

The metadata holds the format name and version, the package and torch
versions, and ``model``: the detector as ``{"class", "params", "state"}``.
This module lists no attributes: each fitted class gives and takes its own
state (``_get_state`` / ``_set_state``, see :mod:`vaeanomaly._state`), and the
objects inside it (a window model, a threshold, arrays, tuples, tensors) are
written the same way, recursively. Classes are looked up in a registry, never
imported by name from the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from vaeanomaly._atomic import atomic_write
from vaeanomaly._legacy_files import legacy_model
from vaeanomaly._state import SavedObject
from vaeanomaly._tail_thresholds import SPOT, POTThreshold
from vaeanomaly._version import __version__
from vaeanomaly.estimator import VAEAnomalyDetector
from vaeanomaly.exceptions import ModelFileError
from vaeanomaly.innovations import LinearInnovations
from vaeanomaly.levels import LocalLevel
from vaeanomaly.sequence import SequenceVAEDetector
from vaeanomaly.thresholds import THRESHOLDS
from vaeanomaly.windows import SlidingWindows

__all__ = [
    "FORMAT_VERSION",
    "atomic_write",
    "load_model",
    "read_model_metadata",
    "save_model",
]

FORMAT_NAME = "vaeanomaly-model"
#: Version of the model file layout; files with a higher version are refused.
#: Version 2 added categorical columns and missing-value indicators; version 3
#: the linear prediction of sequence models; version 4 ensembles, trimming
#: and dequantisation. Version 5 stores each object as ``{class, params,
#: state}`` from the class's own ``_get_state``. Versions 1-4 are translated
#: into that form by :mod:`vaeanomaly._legacy_files`, read by the same
#: decoder, and score as they did.
FORMAT_VERSION = 5

#: The classes a model file may hold, by the name written in the file.
CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        VAEAnomalyDetector,
        SequenceVAEDetector,
        LocalLevel,
        LinearInnovations,
        SlidingWindows,
        POTThreshold,
        SPOT,
        *THRESHOLDS.values(),
    )
}

DETECTORS = (VAEAnomalyDetector, SequenceVAEDetector)


class _Writer:
    """Turn objects into JSON data, collecting tensors on the side."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                return {
                    "__array__": [self.encode(v) for v in value.tolist()],
                    "dtype": "object",
                }
            return {"__array__": value.tolist(), "dtype": value.dtype.str}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise ModelFileError(
                    f"Cannot save a dict with keys {list(value)[:5]!r} in a model "
                    "file: keys must be text."
                )
            return {"__dict__": {k: self.encode(v) for k, v in value.items()}}
        if isinstance(value, torch.Tensor):
            key = f"t{len(self.tensors)}"
            self.tensors[key] = value.detach().cpu().contiguous()
            return {"__tensor__": key}
        if isinstance(value, torch.device):
            return str(value)
        if isinstance(value, np.random.RandomState):
            return None  # a generator's state is not a setting to keep
        if isinstance(value, SavedObject):
            return {
                "__object__": value.name,
                "params": self.encode(value.params),
                "state": self.encode(value.state),
            }
        name = type(value).__name__
        if CLASSES.get(name) is type(value):
            params = value.get_params(deep=False)
            return self.encode(SavedObject(name, params, value._get_state()))
        raise ModelFileError(
            f"Cannot save a value of type {name!r} in a model file: only numbers, "
            f"text, arrays and the classes {sorted(CLASSES)} can be stored. Use "
            "joblib for custom objects (trusted files only)."
        )


def _decode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of ``_Writer.encode``; builds objects only from ``CLASSES``."""
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        if value["dtype"] == "object":
            items = [_decode(v, tensors) for v in value["__array__"]]
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array
        return np.asarray(value["__array__"], dtype=np.dtype(value["dtype"]))
    if "__tuple__" in value:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, tensors) for k, v in value["__dict__"].items()}
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__object__" in value:
        cls = CLASSES.get(value["__object__"])
        if cls is None:
            raise ValueError(f"unknown class {value['__object__']!r}")
        params = _decode(value["params"], tensors)
        valid = set(cls._get_param_names())
        obj = cls(**{k: v for k, v in params.items() if k in valid})
        state = _decode(value["state"], tensors)
        if state:
            obj._set_state(state)
        return obj
    raise ValueError(f"unexpected entry {sorted(value)[:5]}")


def save_model(
    detector: VAEAnomalyDetector | SequenceVAEDetector, path: str | os.PathLike
) -> None:
    """Write a fitted detector to ``path`` in the vaeanomaly model format.

    Parameters
    ----------
    detector : VAEAnomalyDetector or SequenceVAEDetector
        A fitted detector.
    path : str or path-like
        Destination; written atomically, so an existing file is replaced only
        once the new one is complete.

    See Also
    --------
    load_model : Read it back.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from vaeanomaly import VAEAnomalyDetector, load_model, save_model
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> det = VAEAnomalyDetector(max_epochs=3, min_steps=0, random_state=0).fit(X)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.vae"
    >>> save_model(det, path)
    >>> bool((load_model(path).score_samples(X) == det.score_samples(X)).all())
    True
    """
    if not isinstance(detector, DETECTORS):
        raise TypeError(
            f"save_model writes VAEAnomalyDetector and SequenceVAEDetector; got "
            f"{type(detector).__name__}. Use joblib for other objects."
        )
    check_is_fitted(detector)
    writer = _Writer()
    model = writer.encode(detector)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "torch_version": torch.__version__,
        "model": model,
    }
    try:
        text = json.dumps(metadata)
    except TypeError as exc:
        raise ModelFileError(
            f"Cannot save this detector in a model file: {exc}. Categorical levels "
            "must be text, numbers or booleans; convert the column's values to str "
            "before fitting, or use joblib."
        ) from exc
    payload = {"metadata": text, "tensors": writer.tensors}
    with atomic_write(path) as handle:
        torch.save(payload, handle)


def _read_payload(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"No model file at '{path}'. Check the path, or fit a model first."
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to parse an untrusted file
        raise ModelFileError(
            f"'{path}' could not be read: it is not a vaeanomaly model file, or it "
            "is damaged, truncated or of another kind (a CSV file, say). Pass the "
            ".vae file that `vaeanomaly fit` or save_model wrote, or refit."
        ) from exc
    if not isinstance(payload, dict) or "metadata" not in payload:
        raise ModelFileError(
            f"'{path}' is a torch file but not a vaeanomaly model (no metadata). "
            "Save models with vaeanomaly.save_model or `vaeanomaly fit`."
        )
    try:
        metadata = json.loads(payload["metadata"])
    except (TypeError, json.JSONDecodeError) as exc:
        raise ModelFileError(
            f"'{path}' has damaged metadata ({exc}). Refit and save it again."
        ) from exc
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        found = metadata.get("format") if isinstance(metadata, dict) else None
        raise ModelFileError(
            f"'{path}' is not a vaeanomaly model file (format {found!r})."
        )
    version = metadata.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"'{path}' has model format version {version!r}, written by vaeanomaly "
            f"{metadata.get('package_version')!r}; this is vaeanomaly {__version__}, "
            f"which reads versions up to {FORMAT_VERSION}. "
            "Upgrade vaeanomaly to load it."
        )
    payload["metadata"] = metadata
    return payload


def read_model_metadata(path: str | os.PathLike) -> dict:
    """Return a model file's JSON metadata (versions, and the model's description).

    Parameters
    ----------
    path : str or path-like
        A model file written by :func:`save_model`.

    Returns
    -------
    dict
        The metadata stored in the file, not checked further; use
        :func:`load_model` for a detector.
    """
    return _read_payload(path)["metadata"]


def load_model(path: str | os.PathLike) -> VAEAnomalyDetector | SequenceVAEDetector:
    """Read a detector written by :func:`save_model`; runs no code from the file.

    Parameters
    ----------
    path : str or path-like
        A model file of any format version up to :data:`FORMAT_VERSION`.

    Returns
    -------
    VAEAnomalyDetector or SequenceVAEDetector
        The fitted detector, on the CPU, scoring exactly as when it was saved.

    Raises
    ------
    ModelFileError
        If the file is missing, not a model, damaged, inconsistent (values
        no fit gives, such as a NaN offset) or from a newer format.
    """
    payload = _read_payload(path)
    metadata = payload["metadata"]
    try:
        if metadata["format_version"] < 5:
            writer = _Writer()
            model = writer.encode(legacy_model(metadata, payload["state_dict"]))
            tensors = writer.tensors
        else:
            model, tensors = metadata["model"], payload["tensors"]
        detector = _decode(model, tensors)
        if not isinstance(detector, DETECTORS):
            raise TypeError(f"the file holds a {type(detector).__name__}")
        check_is_fitted(detector)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise ModelFileError(
            f"'{path}' is a vaeanomaly model file with missing or inconsistent "
            f"contents ({type(exc).__name__}: {str(exc)[:200]}). "
            "Refit and save it again."
        ) from exc
    return detector
