"""Reading model files of formats 1 to 4 (vaeanomaly 0.1 to 0.4.0.dev0).

Those files listed each class's fitted attributes by name; today's files hold
``{class, params, state}`` per object (see :mod:`vaeanomaly.io`). This module
turns the old layout into today's objects, so old files keep loading and
score exactly as they did. Nothing here writes files.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vaeanomaly._names import CATEGORICAL
from vaeanomaly.estimator import VAEAnomalyDetector
from vaeanomaly.innovations import LinearInnovations
from vaeanomaly.likelihoods import HEADS
from vaeanomaly.sequence import SequenceVAEDetector
from vaeanomaly.thresholds import THRESHOLDS
from vaeanomaly.windows import SlidingWindows

__all__ = ["legacy_model"]


def _threshold_from_json(data: Any) -> Any:
    if data is None or isinstance(data, str):
        return data
    cls = THRESHOLDS[data["name"]]
    obj = cls.__new__(cls)
    obj.__dict__.update(data["state"])
    return obj


def legacy_model(metadata: dict, state_dict: dict) -> Any:
    """Build the detector that a format 1-4 file describes.

    Parameters
    ----------
    metadata : dict
        The file's JSON metadata.
    state_dict : dict
        The module's tensors.

    Returns
    -------
    VAEAnomalyDetector or SequenceVAEDetector
    """
    version = metadata["format_version"]
    params = dict(metadata["params"])
    if version < 2:
        params.setdefault("missing", "error")
    if version < 4:
        params.update(n_members=1, trim=None, dequantize=False)
    params["threshold"] = _threshold_from_json(params["threshold"])
    if params.get("hidden_dims") is not None:
        params["hidden_dims"] = tuple(params["hidden_dims"])
    valid = VAEAnomalyDetector().get_params()
    detector = VAEAnomalyDetector(**{k: v for k, v in params.items() if k in valid})
    fitted = dict(metadata["fitted"])
    n_features = fitted["n_features_in_"]
    names = fitted.get("feature_names_in_")
    categories = fitted.get("categories_") or [None] * n_features
    heads = list(fitted["feature_likelihoods_"])
    schema = {
        "n_features_in_": n_features,
        "feature_names_in_": None if names is None else np.asarray(names, dtype=object),
        "names_": [str(n) for n in names]
        if names is not None
        else [f"x{j}" for j in range(n_features)],
        "categories_": categories,
        "heads_": heads,
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
    if any(h != CATEGORICAL and h not in HEADS for h in heads):
        raise ValueError(f"unknown likelihood heads {heads}")
    state = {
        "n_features_in_": n_features,
        "n_samples_fit_": fitted["n_samples_fit_"],
        "latent_dim_": fitted["latent_dim_"],
        "hidden_dims_": tuple(fitted["hidden_dims_"]),
        "offset_": fitted["offset_"],
        "history_": fitted["history_"],
        "n_iter_": fitted["n_iter_"],
        "best_epoch_": fitted["best_epoch_"],
        "n_trimmed_": fitted.get("n_trimmed_", 0),
        "threshold_": _threshold_from_json(fitted["threshold_"]),
        "_score_seed": fitted["_score_seed"],
        "schema_": schema,
        "module_": state_dict if version >= 4 else _single_member_state(state_dict),
    }
    if names is not None:
        state["feature_names_in_"] = np.asarray(names, dtype=object)
    detector._set_state(state)
    if "sequence" in metadata:
        return _sequence_from_json(metadata["sequence"], detector)
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


def _innovations_from_json(data: dict | None) -> LinearInnovations | None:
    if data is None:
        return None
    step = LinearInnovations(data["order"], alpha=data["alpha"])
    for name in _INNOVATION_ARRAYS:
        setattr(step, name, np.asarray(data[name], dtype=np.float64))
    step.n_features_in_ = len(step.mean_)
    return step


def _named(channels: list) -> bool:
    return not all(str(c) == str(j) for j, c in enumerate(channels))


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
    detector.channels_ = list(data["channels_"])
    detector.innovations_ = _innovations_from_json(data.get("innovations_"))
    if detector.innovations_ is not None and _named(detector.channels_):
        # It was fitted on a DataFrame; without its names, scoring one warns.
        detector.innovations_.feature_names_in_ = np.asarray(
            detector.channels_, dtype=object
        )
    windows = SlidingWindows(detector.window)
    windows.n_features_in_ = len(detector.channels_)
    windows.feature_names_in_ = np.asarray(detector.channels_, dtype=object)
    detector.windows_ = windows
    detector.detector_ = inner
    detector.offset_ = float(data["offset_"])
    detector.blame_baseline_ = np.asarray(data["blame_baseline_"], dtype=np.float64)
    return detector
