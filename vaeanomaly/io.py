"""Files: the model file format, and reading and writing tables.

A model file is one ``torch.save`` archive that holds a JSON string of
metadata (format name and version, package version, parameters, column names,
scaling statistics, training history) and the module's tensors. It is read
with ``torch.load(weights_only=True)``, which refuses anything but tensors and
plain containers, so loading a model that someone sent you runs no code.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from vaeanomaly._version import __version__
from vaeanomaly.estimator import VAEAnomalyDetector
from vaeanomaly.exceptions import ModelFileError
from vaeanomaly.innovations import LinearInnovations
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
#: Version 2 added categorical columns and missing-value indicators; version 1
#: files load with neither, and with ``missing="error"``, as they behaved.
#: Version 3 added the linear prediction of sequence models
#: (``ar_order``); sequence models of older files window the raw readings.
#: Version 4 holds ensembles (``n_members``; layer weights with a member
#: axis), trimming and dequantisation; older files load as one member with
#: neither, and score as they did.
FORMAT_VERSION = 4

_FITTED_ARRAYS = ("mean_", "scale_", "resolution_")
_FITTED_MASKS = ("is_categorical_", "missing_indicators_")
_FITTED_VALUES = (
    "categories_",
    "n_features_in_",
    "n_samples_fit_",
    "latent_dim_",
    "hidden_dims_",
    "feature_likelihoods_",
    "offset_",
    "history_",
    "n_iter_",
    "best_epoch_",
    "n_trimmed_",
    "_score_seed",
)


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


def _jsonable_threshold(spec: Any) -> Any:
    """Convert a threshold parameter or fitted object to plain JSON data."""
    if spec is None or isinstance(spec, str):
        return spec
    names = {cls: name for name, cls in THRESHOLDS.items()}
    name = names.get(type(spec))
    if name is None:
        raise ModelFileError(
            f"Cannot save a threshold of type {type(spec).__name__!r}: only the "
            f"classes in vaeanomaly.thresholds.THRESHOLDS ({sorted(THRESHOLDS)}) "
            "can be stored in a model file. Use joblib for custom objects."
        )
    state = {}
    for key, value in vars(spec).items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        try:
            json.dumps(value)
        except TypeError:
            continue
        state[key] = value
    return {"name": name, "state": state}


def _threshold_from_json(data: Any) -> Any:
    if data is None or isinstance(data, str):
        return data
    cls = THRESHOLDS[data["name"]]
    obj = cls.__new__(cls)
    obj.__dict__.update(data["state"])
    return obj


def save_model(
    detector: VAEAnomalyDetector | SequenceVAEDetector, path: str | os.PathLike
) -> None:
    """Write a fitted detector to ``path`` in the vaeanomaly model format.

    Parameters
    ----------
    detector : VAEAnomalyDetector or SequenceVAEDetector
        A fitted detector. For a sequence detector, the window model is stored
        with a ``sequence`` block (window, aggregation, channels, threshold).
    path : str or path-like
        Destination; written atomically, so an existing file is replaced only
        once the new one is complete.

    See Also
    --------
    load_model : Read it back.
    """
    check_is_fitted(detector)
    sequence = None
    if isinstance(detector, SequenceVAEDetector):
        sequence = {
            "window": detector.window,
            "ar_order": detector.ar_order,
            "innovations_": _innovations_to_json(detector.innovations_),
            "aggregate": detector.aggregate,
            "calibration_fraction": detector.calibration_fraction,
            "max_gap": detector.max_gap,
            "channels_": list(detector.channels_),
            "offset_": detector.offset_,
            "blame_baseline_": detector.blame_baseline_.tolist(),
            "channel_range_": detector.channel_range_.tolist(),
            "channel_scale_": detector.channel_scale_.tolist(),
        }
        detector = detector.detector_
    params = detector.get_params()
    params["threshold"] = _jsonable_threshold(params["threshold"])
    if not (params["random_state"] is None or isinstance(params["random_state"], int)):
        params["random_state"] = None
    device = params["device"]
    params["device"] = str(device) if isinstance(device, torch.device) else device
    categorical = params["categorical_features"]
    if categorical is not None and not isinstance(categorical, str):
        params["categorical_features"] = np.asarray(categorical).tolist()
    fitted = {name: getattr(detector, name) for name in _FITTED_VALUES}
    fitted.update({name: getattr(detector, name).tolist() for name in _FITTED_ARRAYS})
    fitted.update({name: getattr(detector, name).tolist() for name in _FITTED_MASKS})
    fitted["hidden_dims_"] = list(fitted["hidden_dims_"])
    fitted["threshold_"] = _jsonable_threshold(detector.threshold_)
    if hasattr(detector, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(n) for n in detector.feature_names_in_]
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "torch_version": torch.__version__,
        "params": params,
        "fitted": fitted,
    }
    if sequence is not None:
        metadata["sequence"] = sequence
    state = {k: v.detach().cpu() for k, v in detector.module_.state_dict().items()}
    try:
        text = json.dumps(metadata)
    except TypeError as exc:
        raise ModelFileError(
            f"Cannot save this detector in a model file: {exc}. Categorical levels "
            "must be text, numbers or booleans; convert the column's values to str "
            "before fitting, or use joblib."
        ) from exc
    payload = {"metadata": text, "state_dict": state}
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
        first_line = (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        raise ModelFileError(
            f"'{path}' is not a readable vaeanomaly model file ({first_line[:200]}). "
            "It may be damaged, truncated or of another kind; refit and save it again."
        ) from exc
    if (
        not isinstance(payload, dict)
        or "metadata" not in payload
        or "state_dict" not in payload
    ):
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
    if metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"'{path}' is not a vaeanomaly model file "
            f"(format {metadata.get('format')!r})."
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
    """Return a model file's metadata (parameters, columns, history, versions).

    Parameters
    ----------
    path : str or path-like
        A model file written by :func:`save_model`.

    Returns
    -------
    dict
        The JSON metadata stored in the file.
    """
    return _read_payload(path)["metadata"]


def load_model(path: str | os.PathLike) -> VAEAnomalyDetector | SequenceVAEDetector:
    """Read a detector written by :func:`save_model`; runs no code from the file.

    Parameters
    ----------
    path : str or path-like
        A model file.

    Returns
    -------
    VAEAnomalyDetector or SequenceVAEDetector
        The fitted detector, on the CPU, scoring exactly as when it was saved.

    Raises
    ------
    ModelFileError
        If the file is missing, not a model, damaged, or from a newer format.
    """
    payload = _read_payload(path)
    metadata = payload["metadata"]
    try:
        params = dict(metadata["params"])
        if metadata["format_version"] < 2:
            params.setdefault("missing", "error")
        if metadata["format_version"] < 4:
            params.update(n_members=1, trim=None, dequantize=False)
        params["threshold"] = _threshold_from_json(params["threshold"])
        if params.get("hidden_dims") is not None:
            params["hidden_dims"] = tuple(params["hidden_dims"])
        valid = VAEAnomalyDetector().get_params()
        detector = VAEAnomalyDetector(**{k: v for k, v in params.items() if k in valid})
        fitted = dict(metadata["fitted"])
        # Format 3 files predate dequantisation and trimming: no floors, no trim.
        fitted.setdefault("resolution_", [0.0] * fitted["n_features_in_"])
        fitted.setdefault("n_trimmed_", 0)
        for name in _FITTED_ARRAYS:
            fitted[name] = np.asarray(fitted[name], dtype=np.float64)
        n_features = fitted["n_features_in_"]
        for name in _FITTED_MASKS:
            fitted[name] = np.asarray(
                fitted.get(name, [False] * n_features), dtype=bool
            )
        fitted.setdefault("categories_", [None] * n_features)
        if "feature_names_in_" in fitted:
            fitted["feature_names_in_"] = np.asarray(
                fitted["feature_names_in_"], dtype=object
            )
        fitted["hidden_dims_"] = tuple(fitted["hidden_dims_"])
        fitted["threshold_"] = _threshold_from_json(fitted["threshold_"])
        for name, value in fitted.items():
            setattr(detector, name, value)
        module = detector._build_module()
        state = payload["state_dict"]
        if metadata["format_version"] < 4:
            state = _single_member_state(state)
        module.load_state_dict(state)
        if "sequence" in metadata:
            detector = _sequence_from_json(metadata["sequence"], detector)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"'{path}' is a vaeanomaly model file with missing or inconsistent "
            f"contents ({type(exc).__name__}: {str(exc)[:200]}). "
            "Refit and save it again."
        ) from exc
    module.eval()
    inner = (
        detector.detector_ if isinstance(detector, SequenceVAEDetector) else detector
    )
    inner.module_ = module
    return detector


def _single_member_state(state: dict) -> dict:
    """Give the tensors of a format < 4 file the member axis of today's layers.

    ``nn.Linear`` stored weights as ``(n_out, n_in)`` and biases as
    ``(n_out,)``; :class:`~vaeanomaly._model.MemberLinear` holds
    ``(n_members, n_in, n_out)`` and ``(n_members, 1, n_out)``, and the
    per-column scales gained the shape ``(n_members, 1, n_columns)``.
    """
    converted = {}
    for key, value in state.items():
        if key.endswith(".weight") and value.dim() == 2:
            value = value.T.unsqueeze(0)
        elif (key.endswith(".bias") or key.endswith(".raw_scale")) and value.dim() == 1:
            value = value.reshape(1, 1, -1)
        converted[key] = value.contiguous()
    return converted


_INNOVATION_ARRAYS = ("mean_", "scale_", "coef_", "intercept_")


def _innovations_to_json(step: LinearInnovations | None) -> dict | None:
    if step is None:
        return None
    state = {name: getattr(step, name).tolist() for name in _INNOVATION_ARRAYS}
    return {"order": step.order, "alpha": step.alpha, **state}


def _innovations_from_json(data: dict | None) -> LinearInnovations | None:
    if data is None:
        return None
    step = LinearInnovations(data["order"], alpha=data["alpha"])
    for name in _INNOVATION_ARRAYS:
        setattr(step, name, np.asarray(data[name], dtype=np.float64))
    step.n_features_in_ = len(step.mean_)
    return step


def _sequence_from_json(data: dict, inner: VAEAnomalyDetector) -> SequenceVAEDetector:
    """Rebuild a fitted SequenceVAEDetector around its loaded window model.

    Files before format 3 have no ``ar_order``: their models window the raw
    readings, so they load with ``ar_order=0``, and with
    ``calibration_fraction=0`` since their threshold came from training scores.
    """
    detector = SequenceVAEDetector(
        window=data["window"],
        ar_order=data.get("ar_order", 0),
        aggregate=data["aggregate"],
        calibration_fraction=data.get("calibration_fraction", 0.0),
        max_gap=data["max_gap"],
    )
    detector.innovations_ = _innovations_from_json(data.get("innovations_"))
    detector.channels_ = list(data["channels_"])
    windows = SlidingWindows(detector.window)
    windows.n_features_in_ = len(detector.channels_)
    windows.feature_names_in_ = np.asarray(detector.channels_, dtype=object)
    detector.windows_ = windows
    detector.detector_ = inner
    detector.offset_ = float(data["offset_"])
    detector.blame_baseline_ = np.asarray(data["blame_baseline_"], dtype=np.float64)
    if "channel_range_" in data:  # files before the drift check have no ranges
        detector.channel_range_ = np.asarray(data["channel_range_"], dtype=np.float64)
        detector.channel_scale_ = np.asarray(data["channel_scale_"], dtype=np.float64)
    return detector
