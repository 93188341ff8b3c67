"""Names of the likelihoods and score methods, without importing torch.

The command line builds its ``--likelihood`` and ``--method`` choices from
these, so that ``vaeanomaly --help`` starts in a fraction of a second; a test
checks that they match ``likelihoods.HEADS`` and ``scoring.SCORE_METHODS``.
"""

LIKELIHOOD_NAMES = ("bernoulli", "gaussian", "gaussian_column", "gaussian_fixed")
SCORE_METHOD_NAMES = ("elbo", "iwae", "recon_error", "recon_prob")

#: Head name of categorical columns: the table schema chooses it per column
#: from the data, so it is not a value of ``likelihood=``.
CATEGORICAL = "categorical"
