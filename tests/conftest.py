"""Shared fixtures: tiny seeded data and a tiny fitted detector."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _require import skip_or_fail

# ../shared beside the repository; VAEANOMALY_SHARED points elsewhere.
SHARED = Path(
    os.environ.get("VAEANOMALY_SHARED")
    or Path(__file__).resolve().parents[1].parent / "shared"
)

TINY = {
    "hidden_dims": (16,),
    "latent_dim": 2,
    "max_epochs": 60,
    "patience": 5,
    "min_steps": 0,  # let early stopping stop these small fits
    "n_draws": 8,
}


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def blob(rng):
    """A correlated Gaussian blob (n=400, d=4) plus 8 far points at the end."""
    return make_blob(rng)


def make_blob(rng):
    """The data of ``blob``, drawn from ``rng``."""
    z = rng.normal(size=(400, 2))
    mixing = np.array([[1.0, 0.5, -0.3, 0.8], [0.2, -1.0, 0.7, 0.4]])
    inliers = z @ mixing + 0.1 * rng.normal(size=(400, 4))
    outliers = rng.uniform(-6, 6, size=(8, 4))
    X = np.vstack([inliers, outliers])
    y = np.r_[np.zeros(400, dtype=int), np.ones(8, dtype=int)]
    return X, y


@pytest.fixture
def blob_frame(blob):
    X, y = blob
    return pd.DataFrame(X, columns=["temp", "pressure", "flow", "vibration"]), y


@pytest.fixture(scope="session")
def fitted_tiny():
    # Imported here, not above: the estimator loads torch and scikit-learn
    # (about 2 s), which pytest-xdist's controller, which runs no test, would
    # load before it starts the workers.
    from vaeanomaly import VAEAnomalyDetector

    data_rng = np.random.default_rng(1)
    X = data_rng.normal(size=(200, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    return VAEAnomalyDetector(**TINY, random_state=0).fit(frame), frame


@pytest.fixture
def shared_dir():
    if not SHARED.is_dir():
        skip_or_fail(f"shared data folder not found at {SHARED}")
    return SHARED
