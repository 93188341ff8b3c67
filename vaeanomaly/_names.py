"""Names of the likelihoods, score methods and thresholds, importing nothing.

The command line builds its ``--likelihood``, ``--method`` and ``--threshold``
choices from these, so that ``vaeanomaly --help`` starts in a fraction of a
second; tests check that they match ``likelihoods.HEADS``,
``scoring.SCORE_METHODS`` and ``thresholds.THRESHOLDS``.
"""

LIKELIHOOD_NAMES = (
    "bernoulli",
    "gaussian",
    "gaussian_column",
    "gaussian_fixed",
    "student_t_column",
)
SCORE_METHOD_NAMES = ("elbo", "iwae", "rarest_value", "recon_error", "recon_prob")

#: Head name of categorical columns: the table schema chooses it per column
#: from the data, so it is not a value of ``likelihood=``.
CATEGORICAL = "categorical"

THRESHOLD_NAMES = (
    "best_f",
    "contamination",
    "fixed",
    "fpr",
    "iqr",
    "mad",
    "pot",
    "robust_z",
    "spot",
)
