"""vaeanomaly: anomaly detection with a probabilistic variational autoencoder.

The main entry point is :class:`VAEAnomalyDetector`, a scikit-learn outlier
detector. :mod:`vaeanomaly.thresholds` turns scores into flags, and
:func:`save_model` / :func:`load_model` read and write model files that run no
code when loaded.

The public names are imported on first use (PEP 562), so that importing the
package, and ``vaeanomaly --help``, do not pay for torch and scikit-learn.
"""

from importlib import import_module
from typing import Any

from vaeanomaly._version import __version__ as __version__

_PUBLIC = {
    "DataError": "vaeanomaly.exceptions",
    "DriftWarning": "vaeanomaly.sequence",
    "LinearInnovations": "vaeanomaly.innovations",
    "ModelFileError": "vaeanomaly.exceptions",
    "SequenceVAEDetector": "vaeanomaly.sequence",
    "SlidingWindows": "vaeanomaly.windows",
    "TrainingError": "vaeanomaly.exceptions",
    "VAEAnomalyDetector": "vaeanomaly.estimator",
    "VAEAnomalyError": "vaeanomaly.exceptions",
    "flagged_periods": "vaeanomaly.sequence",
    "load_model": "vaeanomaly.io",
    "read_model_metadata": "vaeanomaly.io",
    "save_model": "vaeanomaly.io",
    "write_report": "vaeanomaly.report",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is asked for."""
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vaeanomaly' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
