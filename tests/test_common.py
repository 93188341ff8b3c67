"""scikit-learn's estimator checks, run on a tiny network."""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.innovations import LinearInnovations
from vaeanomaly.levels import LocalLevel


@parametrize_with_checks(
    [VAEAnomalyDetector(max_epochs=2, hidden_dims=(8,), latent_dim=2, n_draws=4)]
)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        # Two epochs never converge; the warning is expected and tested elsewhere.
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@parametrize_with_checks(
    [LinearInnovations(order=1)],
    expected_failed_checks=lambda estimator: {
        "check_estimators_nan_inf": "NaN marks a missing reading; it is allowed",
        "check_methods_sample_order_invariance": "a reading is predicted from the "
        "ones before it, so the order of rows is the data",
        "check_methods_subset_invariance": "the same: a subset changes each past",
    },
)
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


@parametrize_with_checks(
    [LocalLevel(window=10)],
    expected_failed_checks=lambda estimator: {
        "check_methods_sample_order_invariance": "a reading is measured against "
        "the ones before it, so the order of rows is the data",
        "check_methods_subset_invariance": "the same: a subset changes each history",
    },
)
def test_sklearn_compatible_local_level(estimator, check):
    check(estimator)
