"""vaeanomaly: anomaly detection with a probabilistic variational autoencoder.

The main entry point is :class:`VAEAnomalyDetector`, a scikit-learn outlier
detector. :mod:`vaeanomaly.thresholds` turns scores into flags, and
:func:`save_model` / :func:`load_model` read and write model files that run no
code when loaded.
"""

from vaeanomaly._version import __version__
from vaeanomaly.estimator import VAEAnomalyDetector
from vaeanomaly.exceptions import DataError, ModelFileError, VAEAnomalyError
from vaeanomaly.io import load_model, read_model_metadata, save_model
from vaeanomaly.sequence import SequenceVAEDetector, flagged_periods
from vaeanomaly.windows import SlidingWindows

__all__ = [
    "DataError",
    "ModelFileError",
    "SequenceVAEDetector",
    "SlidingWindows",
    "VAEAnomalyDetector",
    "VAEAnomalyError",
    "__version__",
    "flagged_periods",
    "load_model",
    "read_model_metadata",
    "save_model",
]
