"""scikit-learn's estimator checks, run on a tiny network."""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from vaeanomaly import VAEAnomalyDetector


@parametrize_with_checks(
    [VAEAnomalyDetector(max_epochs=2, hidden_dims=(8,), latent_dim=2, n_draws=4)]
)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        # Two epochs never converge; the warning is expected and tested elsewhere.
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
