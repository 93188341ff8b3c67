"""Model files of formats 1 to 4 (vaeanomaly 0.1 to 0.4.0.dev0), translated.

Those files listed each class's fitted attributes by name; today's files hold
``{class, params, state}`` per object (see :mod:`vaeanomaly.io`). This module
translates the old layout into that form (:class:`~vaeanomaly._state.SavedObject`
trees), which :mod:`vaeanomaly.io` writes as today's JSON and reads with the
decoder of today's files, so each class takes its state, and checks it, in
its own ``_set_state``. Old files keep loading and score exactly as they did.
Nothing here builds an object or writes a file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaeanomaly._state import SavedObject
from vaeanomaly.thresholds import THRESHOLDS

__all__ = ["legacy_model"]


def _threshold(data: Any) -> Any:
    """Translate a threshold stored as ``{name, state}`` (its ``__dict__``)."""
    if data is None or isinstance(data, str):
        return data
    cls = THRESHOLDS[data["name"]]
    names = set(cls._get_param_names())
    params = {k: v for k, v in data["state"].items() if k in names}
    state = {k: v for k, v in data["state"].items() if k not in names}
    return SavedObject(cls.__name__, params, state)


def legacy_model(metadata: dict, state_dict: dict) -> SavedObject:
    """Describe the detector that a format 1-4 file holds, as today's files do.

    Parameters
    ----------
    metadata : dict
        The file's JSON metadata.
    state_dict : dict
        The module's tensors.

    Returns
    -------
    SavedObject
        A ``VAEAnomalyDetector``, or a ``SequenceVAEDetector`` around one.
    """
    version = metadata["format_version"]
    params = dict(metadata["params"])
    if version < 2:
        params.setdefault("missing", "error")
    if version < 4:
        params.update(n_members=1, trim=None, dequantize=False)
    params["threshold"] = _threshold(params["threshold"])
    if params.get("hidden_dims") is not None:
        params["hidden_dims"] = tuple(params["hidden_dims"])
    fitted = dict(metadata["fitted"])
    names = fitted.get("feature_names_in_")
    state = {
        "n_features_in_": fitted["n_features_in_"],
        "n_samples_fit_": fitted["n_samples_fit_"],
        "latent_dim_": fitted["latent_dim_"],
        "hidden_dims_": tuple(fitted["hidden_dims_"]),
        "offset_": fitted["offset_"],
        "history_": fitted["history_"],
        "n_iter_": fitted["n_iter_"],
        "best_epoch_": fitted["best_epoch_"],
        "n_trimmed_": fitted.get("n_trimmed_", 0),
        "threshold_": _threshold(fitted["threshold_"]),
        "_score_seed": fitted["_score_seed"],
        "schema_": _schema_state(fitted),
        "module_": state_dict if version >= 4 else _single_member_state(state_dict),
    }
    if names is not None:
        state["feature_names_in_"] = np.asarray(names, dtype=object)
    detector = SavedObject("VAEAnomalyDetector", params, state)
    if "sequence" in metadata:
        return _sequence(metadata["sequence"], detector)
    return detector


def _schema_state(fitted: dict) -> dict:
    """Return the table schema's fitted values from the old attributes."""
    n_features = fitted["n_features_in_"]
    names = fitted.get("feature_names_in_")
    return {
        "n_features_in_": n_features,
        "feature_names_in_": None if names is None else np.asarray(names, dtype=object),
        "names_": [str(n) for n in names]
        if names is not None
        else [f"x{j}" for j in range(n_features)],
        "categories_": fitted.get("categories_") or [None] * n_features,
        "heads_": list(fitted["feature_likelihoods_"]),
        "indicators_": np.asarray(
            fitted.get("missing_indicators_", [False] * n_features), dtype=bool
        ),
        "mean_": np.asarray(fitted["mean_"], dtype=np.float64),
        "scale_": np.asarray(fitted["scale_"], dtype=np.float64),
        # Format 3 files predate dequantisation: no floors.
        "resolution_": np.asarray(
            fitted.get("resolution_", [0.0] * n_features), dtype=np.float64
        ),
    }


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


def _innovations(data: dict | None, channels: list[str]) -> SavedObject | None:
    if data is None:
        return None
    state: dict[str, Any] = {
        name: np.asarray(data[name], dtype=np.float64) for name in _INNOVATION_ARRAYS
    }
    state["n_features_in_"] = len(state["mean_"])
    if not all(str(c) == str(j) for j, c in enumerate(channels)):
        # It was fitted on a DataFrame; without its names, scoring one warns.
        state["feature_names_in_"] = np.asarray(channels, dtype=object)
    params = {"order": data["order"], "alpha": data["alpha"]}
    return SavedObject("LinearInnovations", params, state)


def _sequence(data: dict, inner: SavedObject) -> SavedObject:
    """Describe a fitted SequenceVAEDetector around its window model.

    Files before format 3 have no ``ar_order``: their models window the raw
    readings, so they load with ``ar_order=0``, and with
    ``calibration_fraction=0`` since their threshold came from training scores.
    """
    channels = list(data["channels_"])
    params = {
        "window": data["window"],
        "ar_order": data.get("ar_order", 0),
        "aggregate": data["aggregate"],
        "calibration_fraction": data.get("calibration_fraction", 0.0),
        "max_gap": data["max_gap"],
    }
    windows = SavedObject(
        "SlidingWindows",
        {"window": data["window"]},
        {
            "n_features_in_": len(channels),
            "feature_names_in_": np.asarray(channels, dtype=object),
        },
    )
    state = {
        "channels_": channels,
        "innovations_": _innovations(data.get("innovations_"), channels),
        "windows_": windows,
        "detector_": inner,
        "offset_": float(data["offset_"]),
        "blame_baseline_": np.asarray(data["blame_baseline_"], dtype=np.float64),
    }
    return SavedObject("SequenceVAEDetector", params, state)
