"""``VAEAnomalyDetector``: a probabilistic VAE behind scikit-learn's outlier API."""

from __future__ import annotations

import copy
import functools
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
import torch
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from vaeanomaly._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    validate_data,
)
from vaeanomaly._detector import DetectorMixin
from vaeanomaly._model import VAE, Rows
from vaeanomaly._schema import TableSchema
from vaeanomaly._state import FittedStateMixin
from vaeanomaly._training import (
    Trainer,
    TrainingConfig,
    auto_batch_size,
    auto_min_steps,
    scaled_learning_rate,
)
from vaeanomaly._wide import WIDE_HIDDEN_WIDTH, auto_max_epochs, is_wide
from vaeanomaly.exceptions import DataError
from vaeanomaly.likelihoods import HEADS, FactorizedLikelihood, scale_floors
from vaeanomaly.scoring import (
    CELL_TERMS,
    FROM_PRIOR,
    SCORE_METHODS,
    SUMMED_OVER_CELLS,
    decode_prior,
    elbo,
)
from vaeanomaly.thresholds import (
    THRESHOLDS,
    ContaminationThreshold,
    RobustZScoreThreshold,
    fit_offset,
    make_threshold,
)

__all__ = ["VAEAnomalyDetector"]

#: Threshold used when neither ``threshold`` nor a float ``contamination`` is
#: given (see the class docstring).
AUTO_THRESHOLD = "robust_z"

#: Upper bound on the number of floats in one scoring batch's widest
#: activation (draws x rows x width): 16 MiB in float32 per array. A few such
#: arrays live at once, so scoring's memory does not grow with the rows; a
#: larger budget costs memory and gains no speed (benchmarks/README.md,
#: "Constants in the code").
_SCORING_BUDGET = 2**22


#: Most rows held out for early stopping: the standard error of the mean
#: validation ELBO of 16,384 rows is under 1% of the per-row spread, and on
#: large tables the rest of ``validation_fraction`` is better used for
#: training (and cheaper to check).
_MAX_VALID_ROWS = 16_384


#: Most optimizer steps of the first fit when ``trim`` is set (``None``: it
#: stops by patience alone). That fit only ranks the training rows, and
#: unbounded it about doubles the fit time; but the caps tried cost quality
#: on ADBench or on the categorical tables, so there is none
#: (benchmarks/README.md, "Constants in the code").
_RANKING_STEPS: int | None = None

#: Weight of the KL term in that first fit, as a multiple of ``beta``. Trimming
#: is there to keep anomalies out of the final fit, but a flexible model learns
#: a small group of similar anomalies as one more mode and finds it likely.
#: Weighted 4 times, the KL term leaves the latent code next to no room (on
#: cardio and shuttle a row's KL falls from 3-4.5 nats to under 0.01), so the
#: ranking model is in effect the columns' independence model: such a group
#: ranks among the least likely rows and is left out. The final fit trains at
#: ``beta`` (benchmarks/README.md, "Constants in the code").
_RANKING_BETA: float = 4.0

#: Fewest draws of the prior for ``score_method="rarest_value"``: its
#: estimate of each column's marginal is a mixture over the draws, and 16
#: (the default ``n_draws``) were too coarse (ADBench, 23 sets, seeds 0-2:
#: mean AUROC 0.785 with 16, 0.802 with 64, 0.808 with 256). The draws are
#: decoded once per call, and every cell is scored under each.
_PRIOR_DRAWS: int = 256


def _default_latent_dim(n_features: int) -> int:
    return int(min(16, max(2, math.ceil(n_features / 4))))


def _default_hidden_dims(n_features: int, wide: bool) -> tuple[int, ...]:
    if wide:
        return (WIDE_HIDDEN_WIDTH,)
    width = int(min(256, max(32, 2 * n_features)))
    return (width, width // 2)


@contextmanager
def _torch_threads(n_jobs: int | None) -> Iterator[None]:
    """Run torch's CPU kernels on ``n_jobs`` threads, restoring the old count."""
    previous = torch.get_num_threads()
    wanted = 1 if n_jobs is None else effective_n_jobs(n_jobs)
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if wanted != previous:
            torch.set_num_threads(previous)


def _tagged(callback: Any, fit_pass: int, n_passes: int, max_epochs: int) -> Any:
    """Wrap an epoch callback so that each record says which fit it is from."""
    if callback is None:
        return None
    tags = {"fit_pass": fit_pass, "n_passes": n_passes, "max_epochs": max_epochs}
    return lambda record: callback({**record, **tags})


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a device torch knows. Use 'auto', 'cpu', "
            "'cuda' or 'cuda:N'."
        ) from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda' or "
            "'cuda:N'."
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but torch sees no CUDA device. "
            "Use device='cpu' or device='auto'."
        )
    return resolved


class VAEAnomalyDetector(DetectorMixin, FittedStateMixin, OutlierMixin, BaseEstimator):
    """Anomaly detector built on a variational autoencoder.

    The model is a VAE with a diagonal Gaussian posterior q(z|x), a standard
    normal prior and a decoder that outputs the parameters of a likelihood
    p(x|z), trained by maximising the evidence lower bound (ELBO). A row is
    scored by how probable the model finds it, estimated with ``n_draws``
    Monte-Carlo draws of z; higher scores mean more normal rows.

    Tables may mix numeric, 0/1 and categorical columns, and may have missing
    cells: categories enter the encoder one-hot and are scored by a
    Categorical (softmax) head; a missing cell enters the encoder as zero
    (plus a missing indicator) and its likelihood term is left out of
    training and scoring, so a row is scored on what it has.

    Parameters
    ----------
    latent_dim : int, default=None
        Dimension of z. ``None`` uses ``ceil(n_features / 4)`` clipped to
        [2, 16].
    hidden_dims : tuple of int, default=None
        Encoder layer widths; the decoder mirrors them. ``None`` uses
        ``(w, w // 2)`` with ``w = 2 * n_features`` clipped to [32, 256],
        and one layer of 128 on a wide table (128 measured columns or more:
        numeric columns that are neither categorical nor 0/1; see the Notes);
        ``()`` gives no hidden layer (a linear encoder and decoder).
    likelihood : {"auto", "student_t_column", "gaussian_column", "gaussian", \
"gaussian_fixed", "bernoulli"}, default="auto"
        Observation model p(x|z). ``"student_t_column"`` predicts a location
        per cell and learns one scale per column, with heavy tails (Student-t,
        4 degrees of freedom); ``"gaussian_column"`` is the same with a
        Gaussian; ``"gaussian"`` predicts a standard deviation per cell too
        (floored at 0.01 in standardized units); ``"gaussian_fixed"`` uses
        unit variance (the squared-error case); ``"bernoulli"`` is for values
        in [0, 1]. ``"auto"`` picks Bernoulli for columns that hold only 0 and
        1 and ``"student_t_column"`` for the others, ``"gaussian_column"`` on
        a wide table (see the Notes). Per-cell variances let the
        decoder explain unusual rows away with a wide variance; under a
        Gaussian, one stray cell in a column the model predicts well costs
        more than a row unusual in many columns, and the heavy tails fix
        that (benchmarks/decisions/likelihood.md gives the ADBench figures). Categorical
        columns always get the Categorical head.
    categorical_features : "from_dtype", sequence of str, int or bool, or None, \
default="from_dtype"
        Columns modelled as categories. ``"from_dtype"`` takes the columns of a
        DataFrame whose dtype is ``category``, ``object``, ``bool`` or
        ``string``; a sequence names the columns (names or positions) or is a
        boolean mask, for example to model integer-coded modes as categories;
        ``None`` treats every column as numeric. The levels are those seen in
        ``fit`` (all of a ``category`` dtype's categories); a level first seen
        later is not an error: it gets probability 0.001 (see
        ``vaeanomaly.likelihoods.UNKNOWN_LEVEL_MASS``), so it scores as
        unusual.
    missing : {"mask", "error"}, default="mask"
        What missing cells (NaN, None, ``pd.NA``) do. ``"mask"``: the encoder
        sees them as zero plus, for columns that had gaps in ``fit``, a
        missing indicator, and their likelihood terms are left out of the
        ELBO in training (as in Donut's modified ELBO) and of the scores.
        ``"error"``: they raise a ValueError. Infinity is always an error, and
        so is a row with no observed cell.
    score_per_cell : bool, default=False
        Divide each row's score by its number of observed cells. Scores are
        sums over the observed cells, so, with the default, a row with gaps is
        scored on fewer terms than a complete row and the two are not on the
        same scale; per cell, they are. For complete rows it only divides all
        scores by ``n_features``, which keeps their ranking. It does not apply
        to ``score_method="rarest_value"``, one cell's surprisal.
    score_method : {"elbo", "iwae", "recon_prob", "recon_error", "rarest_value"}, \
default="elbo"
        How ``score_samples`` scores a row: the multi-sample ELBO, the
        importance-weighted bound on log p(x), An & Cho's reconstruction
        probability (log of the mean of p(x|z_l)), minus the squared error
        to the decoded mean, or ``"rarest_value"``: minus the largest
        surprisal among the row's cells under the model's marginal of each
        column, ``p(x_j) = E_p(z)[p(x_j|z)]`` (see
        :func:`vaeanomaly.scoring.rarest_value`; a numeric cell's surprisal
        is a density's, in nats of the standardized column, so on mixed
        tables it is compared with the categorical cells' on that scale).
        ``trim`` ranks the training rows by their ELBO whichever method
        scores. The first four judge the row
        as a whole, so a group of similar anomalies the model has learnt as
        one more mode scores as normal; ``"rarest_value"`` finds rows that hold
        a value rare in its column even then (on the w7a table of
        keywords, where the anomalies are such a group, mean AUROC 0.84
        where the ELBO's is 0.48;
        benchmarks/decisions/rarest-value-score.md), and misses anomalies
        made of common values in an unusual combination, which the ELBO
        finds: it is an option for when the anomalies are expected to hold
        rare values, not a better default.
    n_draws : int, default=16
        Draws of z per row when scoring. ``"rarest_value"`` uses
        ``max(n_draws, 256)`` draws of the prior, shared by all rows.
    n_train_draws : int, default=1
        Draws of z per row in each training step.
    n_members : int, default=1
        Number of VAEs trained side by side from their own initialisations
        (an ensemble); a row's score is the mean of the members' scores and
        its ``score_features`` the mean of their contributions. Each member
        keeps the weights of its own best epoch, and training ends when every
        member has stopped improving. One VAE's ranking depends on where its
        training started; the mean of several depends on it much less. The
        members are held in one network of batched layers, so a step costs
        little more than one member's, but training runs until the slowest
        member has stopped, so fits take longer.
    beta : float, default=1.0
        Weight of the KL term in the training loss (1 is the true ELBO). The
        first fit of ``trim`` weighs it 4 times as much.
    kl_warmup : int, default=0
        Epochs over which the KL weight rises linearly from 0 to ``beta`` (to
        4 times ``beta`` in the first fit of ``trim``), a guard against
        posterior collapse. Early stopping waits for it to end.
    standardize : bool, default=True
        Learn each measured column's mean and standard deviation in ``fit`` and
        scale by them, so raw units work. Set to False when an earlier pipeline
        step already scales. 0/1 columns modelled as Bernoulli are never scaled.
    dequantize : bool, default=True
        Floor the scale of each measured (Student-t or Gaussian) column at its
        resolution (the smallest step between its values in ``fit``) divided
        by sqrt(12), the scale that uniform dequantisation gives. Without it,
        columns of counts or codes let the learned scale shrink around their
        repeated values and the likelihood grow without bound. Continuous
        columns are unaffected.
    trim : "auto", float or None, default="auto"
        Robustness to anomalies in the training data. A first fit (stopped
        by ``patience`` alone, without ``min_steps``, with the KL term weighted
        4 times ``beta``) scores the training rows by their ELBO (whatever
        ``score_method``), the rows it finds least likely are left out, and
        the model is trained afresh on the rest:
        with ``"auto"``, the rows whose score lies more than 3.5 robust
        standard deviations below the median (the ``"robust_z"`` rule, which
        needs no guess of the anomaly rate); with a float in (0, 0.5), that
        share of the rows. ``None`` trains once on everything. A model that
        has trained on anomalies learns to reconstruct them, so they score as
        more normal than they are. On a wide table ``"auto"`` trains once
        (see the Notes). With ``beta > 0`` the heavy KL weight
        leaves the first fit's latent code too little room to learn a small
        group of similar rows: it ranks rows about as a model of independent
        columns would, so a group of similar anomalies built on rare levels or
        values far out in a column ranks low and is left out as well (a group
        unusual only in how its common values combine is not).
        ``offset_`` still comes from the scores of all training rows.
    max_epochs : "auto" or int, default="auto"
        Most epochs. ``"auto"`` is 200, or 50 on a wide table (see the Notes);
        the fitted value is ``max_epochs_``. An epoch is a pass over the
        training rows, or 128,000 rows on larger tables (the next epoch goes on
        where it stopped), so that early stopping checks a 1,000,000-row table
        as often as a 128,000-row one. A fit that reaches ``max_epochs`` with
        its validation loss still falling (its last epoch its best) warns with a
        ``ConvergenceWarning`` when ``max_epochs`` is below what ``"auto"``
        gives that table: it was cut short. At that value or above it does not:
        most default fits of the development tables run to the cap still gaining
        a little, and longer fits were measured to rank no better
        (``max_epochs=1000``: mean AUROC 0.822 against 0.837 on the 23 ADBench
        development sets), so such a warning would ask for training that does
        not help.
    batch_size : "auto" or int, default="auto"
        Rows per training step. ``"auto"`` gives at least two steps an
        epoch: the largest power of two up to half the training rows,
        between 128 and 1024 (see
        ``vaeanomaly._training.auto_batch_size``). A step of the small
        networks of tabular data costs nearly the same at 128 rows as at
        1,024, so on larger tables fewer, larger steps train in a fraction
        of the time. The batches of an epoch are of equal size (the last
        one is not a small remainder).
    learning_rate : "auto" or float, default="auto"
        Adam's step size for the network. ``"auto"`` is 1e-3 at 128 rows per
        batch and grows with the square root of the batch size. The
        likelihood's own parameters (the per-column scales of
        ``"student_t_column"`` and ``"gaussian_column"``) take ten times
        larger steps: they must travel far from their unit start, and at the
        network's rate that set the length of training.
    validation_fraction : float, default=0.1
        Share of the training rows held out for early stopping, at most 16,384
        rows. 0 monitors the training loss instead.
    patience : int, default=10
        Epochs without improvement of the monitored loss before training stops;
        the weights of the best epoch are restored. ``None`` never stops early.
    min_steps : "auto" or int, default="auto"
        Optimizer steps to take before early stopping may stop training
        (``max_epochs`` still caps it). ``"auto"`` is 2000 at 128 rows per
        batch and ``2000 / sqrt(batch_size / 128)`` for larger batches: with
        the learning rate of ``learning_rate="auto"`` a larger step moves the
        weights further, and these make about the progress of 2000 steps of
        128 rows. A VAE's validation loss often stalls for a while before it
        falls again; on small tables the cap of ``max_epochs`` comes first.
    clip_grad_norm : float, default=10.0
        Largest gradient norm per step; ``None`` disables clipping.
    contamination : "auto" or float, default="auto"
        Expected share of anomalies in the training data, in (0, 0.5]. A float
        sets ``offset_`` so that this share of the training rows is flagged.
        ``"auto"`` uses the threshold method named in ``threshold`` or, when
        that is ``None``, a robust z-score rule (median + 3.5 MADs of the
        anomaly scores on the training rows). That rule flags only rows far
        out in the tail of the training scores, and may flag none: a table of
        tight clusters with no stragglers (scikit-learn's estimator checks fit
        three well-separated Gaussian blobs) has no training row that far, so
        ``predict`` on it gives +1 everywhere. This is by design: a share of
        the training rows is flagged only when a float ``contamination`` asks
        for it, never invented (IsolationForest's ``contamination="auto"``
        flags some rows of any table).
    threshold : str or threshold object, default=None
        How to turn training scores into ``offset_``: a name from
        ``vaeanomaly.thresholds.THRESHOLDS`` (e.g. ``"pot"``, ``"iqr"``) or an
        unfitted threshold object such as ``POTThreshold(risk=1e-3)``. It is
        fitted on the training scores (with ``y`` when given, for methods that
        use labels).
    device : str, default="auto"
        Torch device; ``"auto"`` uses CUDA when available, else the CPU.
    n_jobs : int, default=None
        CPU threads for torch while fitting and scoring; ``None`` means 1 and
        -1 means all cores. One thread is fastest for small networks and
        avoids oversubscription when other processes share the machine; more
        help for wide networks and large scoring batches.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, training noise and the scoring
        draws. With an int, ``fit`` is reproducible on the CPU and every call
        of ``score_samples`` gives the same scores.
    verbose : int, default=0
        Print one line per epoch to stderr when > 0.

    Attributes
    ----------
    module_ : VAE
        The trained torch module.
    offset_ : float
        ``decision_function = score_samples - offset_``; rows below it are
        outliers.
    threshold_ : object
        The fitted threshold object that gave ``offset_``.
    history_ : list of dict
        Per-epoch ``epoch``, ``train_loss``, ``valid_loss``, ``beta``, ``dur``
        of the final fit (the one after trimming, see ``trim``).
    n_iter_ : int
        Number of epochs of the final fit.
    batch_size_ : int
        Rows per training step of the final fit (see ``batch_size``).
    learning_rate_ : float
        Adam's step size of the final fit (see ``learning_rate``).
    best_epoch_ : int
        Epoch whose weights were kept.
    latent_dim_ : int
        Dimension of z used.
    hidden_dims_ : tuple of int
        Encoder widths used.
    max_epochs_ : int
        Most epochs of each fit (see ``max_epochs``).
    schema_ : TableSchema
        What the table looks like to the model: column names, the likelihood
        head of each column (``schema_.heads_``; ``"categorical"`` for
        categories), the levels of categorical columns (``categories_``),
        the columns with missing indicators (``indicators_``), and the mean,
        scale and resolution of the measured columns (``mean_``, ``scale_``,
        ``resolution_``; see ``dequantize``). It validates and encodes new
        data.
    n_samples_fit_ : int
        Number of rows ``fit`` saw (training and validation together).
    n_trimmed_ : int
        Number of training rows left out of the final fit (see ``trim``).
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names, when ``X`` had string column names.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Tree-based outlier detector.

    Notes
    -----
    Scores are log-densities of the standardized data, in nats. They rank rows
    correctly, but they are not comparable between models fitted with
    different scaling.

    The defaults follow the table's width. A table with 128 measured
    columns or more (numeric columns that are neither categorical nor 0/1:
    embeddings, spectra) is wide, and the ``"auto"`` and ``None`` defaults
    give it a Gaussian likelihood with one scale per column, one hidden layer
    of 128, 50 epochs and no ranking fit. On the embedding development tables
    (512 columns) that fits about twelve times faster than the narrow
    defaults and ranks better (benchmarks/README.md, "Wide tables"). Only the
    count of measured columns decides, never their values.

    Examples
    --------
    >>> import numpy as np
    >>> from vaeanomaly import VAEAnomalyDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4))
    >>> detector = VAEAnomalyDetector(max_epochs=20, random_state=0).fit(X)
    >>> far = np.full((1, 4), 8.0)
    >>> bool(detector.score_samples(far)[0] < detector.score_samples(X[:1])[0])
    True
    >>> detector.predict(far)
    array([-1])
    """

    _parameter_constraints: dict = {
        "latent_dim": [Interval(Integral, 1, None, closed="left"), None],
        "hidden_dims": ["array-like", None],
        "likelihood": [StrOptions({"auto", *HEADS})],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "missing": [StrOptions({"mask", "error"})],
        "score_per_cell": ["boolean"],
        "score_method": [StrOptions(set(SCORE_METHODS))],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
        "n_train_draws": [Interval(Integral, 1, None, closed="left")],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "standardize": ["boolean"],
        "dequantize": ["boolean"],
        "trim": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="neither"), None],
        "max_epochs": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "min_steps": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "threshold": [
            StrOptions(set(THRESHOLDS)),
            HasMethods(["fit", "predict"]),
            None,
        ],
        "device": [str, torch.device],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        latent_dim: int | None = None,
        hidden_dims: tuple[int, ...] | None = None,
        likelihood: str = "auto",
        categorical_features: Any = "from_dtype",
        missing: str = "mask",
        score_per_cell: bool = False,
        score_method: str = "elbo",
        n_draws: int = 16,
        n_train_draws: int = 1,
        n_members: int = 1,
        beta: float = 1.0,
        kl_warmup: int = 0,
        standardize: bool = True,
        dequantize: bool = True,
        trim: str | float | None = "auto",
        max_epochs: int | str = "auto",
        batch_size: int | str = "auto",
        learning_rate: float | str = "auto",
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        min_steps: int | str = "auto",
        clip_grad_norm: float | None = 10.0,
        contamination: str | float = "auto",
        threshold: Any = None,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.likelihood = likelihood
        self.categorical_features = categorical_features
        self.missing = missing
        self.score_per_cell = score_per_cell
        self.score_method = score_method
        self.n_draws = n_draws
        self.n_train_draws = n_train_draws
        self.n_members = n_members
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.standardize = standardize
        self.dequantize = dequantize
        self.trim = trim
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_steps = min_steps
        self.clip_grad_norm = clip_grad_norm
        self.contamination = contamination
        self.threshold = threshold
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _check_params(self, X: np.ndarray) -> None:
        """Check what involves the data or more than one parameter."""
        if X.shape[0] < 2:
            raise DataError(
                f"{type(self).__name__} needs at least 2 samples to fit; got "
                f"{X.shape[0]} sample (shape {X.shape}). Pass more rows."
            )
        if self.hidden_dims is not None:
            dims = tuple(self.hidden_dims)
            if not all(isinstance(w, Integral) and w >= 1 for w in dims):
                raise ValueError(
                    "hidden_dims must be a tuple of positive integers; got "
                    f"{self.hidden_dims!r}. Use e.g. hidden_dims=(64, 32)."
                )
        if self.threshold is not None and self.contamination != "auto":
            if self.threshold != "contamination":
                raise ValueError(
                    f"contamination={self.contamination!r} and "
                    f"threshold={self.threshold!r} both set the threshold. Keep "
                    "contamination='auto' when you pass threshold, or drop threshold."
                )

    def _make_schema(self) -> TableSchema:
        """Return an unfitted schema with this detector's data settings."""
        return TableSchema(
            heads=HEADS,
            likelihood=self.likelihood,
            categorical_features=self.categorical_features,
            missing=self.missing,
            standardize=self.standardize,
            dequantize=self.dequantize,
        )

    def _build_module(self) -> VAE:
        schema = self.schema_
        likelihood = FactorizedLikelihood(
            schema.heads_,
            schema.n_levels,
            scale_floors(schema.min_scales),
            n_members=self.n_members,
        )
        return VAE(
            schema.n_inputs,
            self.latent_dim_,
            self.hidden_dims_,
            likelihood,
            n_members=self.n_members,
        )

    def _make_threshold(self) -> Any:
        if self.threshold is None:
            if self.contamination == "auto":
                return make_threshold(AUTO_THRESHOLD)
            return ContaminationThreshold(contamination=self.contamination)
        if self.threshold == "contamination" and self.contamination != "auto":
            return ContaminationThreshold(contamination=self.contamination)
        return make_threshold(self.threshold)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any = None, *, callback: Any = None) -> VAEAnomalyDetector:
        """Train the VAE on ``X`` and set ``offset_`` from its training scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows, mostly normal. NaN and inf are rejected.
        y : array-like of shape (n_samples,), default=None
            Ignored by the model; passed to the threshold method, so label-based
            thresholds (``threshold="best_f"``) can use it.
        callback : callable, default=None
            Called after each epoch with that epoch's ``history_`` entry plus
            ``fit_pass``: 1 for the first fit, 2 for the fit after trimming
            (see ``trim``). The command line uses it for its progress bar.

        Returns
        -------
        self : VAEAnomalyDetector
            The fitted detector.
        """
        X = self._validate(X, reset=True)
        self._check_params(X)
        n_samples, n_features = X.shape
        self.n_samples_fit_ = n_samples
        wide = is_wide(self.schema_.n_measured)
        auto_epochs = auto_max_epochs(self.schema_.n_measured)
        self.latent_dim_ = self.latent_dim or _default_latent_dim(n_features)
        hidden = self.hidden_dims
        if hidden is None:
            hidden = _default_hidden_dims(n_features, wide)
        self.hidden_dims_ = tuple(int(w) for w in hidden)
        self.max_epochs_ = (
            auto_epochs if self.max_epochs == "auto" else int(self.max_epochs)
        )
        rng = check_random_state(self.random_state)
        fit_seed, self._score_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        device = _resolve_device(self.device)
        x_all = self._to_rows(X, device)
        self.__dict__.pop("_scoring_module", None)
        devices = [device] if device.type == "cuda" else []
        with _torch_threads(self.n_jobs), torch.random.fork_rng(devices=devices):
            torch.manual_seed(fit_seed)
            # With trimming, the first fit only ranks the training rows: it
            # stops by patience (or after _RANKING_STEPS steps), weighs the
            # KL term _RANKING_BETA times, and the final fit trains a new
            # network on the rows kept. "auto" trims narrow tables only.
            trimming = self.trim is not None and not (self.trim == "auto" and wide)
            n_passes = 2 if trimming else 1
            trainer = self._new_trainer(
                x_all.n_rows,
                device,
                0 if trimming else self.min_steps,
                _RANKING_STEPS if trimming else None,
                self.beta * _RANKING_BETA if trimming else None,
            )
            self._fit_held_out(
                trainer, x_all, _tagged(callback, 1, n_passes, self.max_epochs_)
            )
            self.n_trimmed_ = 0
            if trimming:
                ranking = self._batched(
                    elbo, X, self.n_draws, per_cell=self.score_per_cell
                )
                keep = self._untrimmed(ranking)
                self.n_trimmed_ = int(n_samples - keep.sum())
                index = torch.as_tensor(np.flatnonzero(keep), device=device)
                x_kept = x_all.take(index)
                trainer = self._new_trainer(x_kept.n_rows, device, self.min_steps)
                self._fit_held_out(
                    trainer, x_kept, _tagged(callback, 2, n_passes, self.max_epochs_)
                )
        self.history_ = trainer.history
        self.n_iter_ = len(trainer.history)
        self.best_epoch_ = trainer.best_epoch
        cut_short = self.max_epochs_ < auto_epochs
        if (
            cut_short
            and not trainer.stopped_early
            and trainer.best_epoch == self.n_iter_
        ):
            warnings.warn(
                f"The validation loss was still falling after max_epochs="
                f"{self.max_epochs_}. Raise max_epochs to train longer.",
                ConvergenceWarning,
                stacklevel=2,
            )
        scores = self._score_samples(X)
        self.threshold_ = self._make_threshold()
        self.offset_ = fit_offset(self.threshold_, scores, y)
        return self

    def _new_trainer(
        self,
        n_rows: int,
        device: torch.device,
        min_steps: Any,
        max_steps: int | None = None,
        beta: float | None = None,
    ) -> Trainer:
        """Build ``module_`` afresh and a trainer for ``n_rows`` rows.

        Sets ``batch_size_`` and ``learning_rate_``, the values this fit uses.
        """
        n_train = n_rows - self._n_valid(n_rows)
        if self.batch_size == "auto":
            self.batch_size_ = auto_batch_size(n_train)
        else:
            self.batch_size_ = int(self.batch_size)
        if self.learning_rate == "auto":
            self.learning_rate_ = scaled_learning_rate(self.batch_size_)
        else:
            self.learning_rate_ = float(self.learning_rate)
        config = TrainingConfig(
            max_epochs=self.max_epochs_,
            batch_size=self.batch_size_,
            learning_rate=self.learning_rate_,
            patience=self.patience,
            min_steps=self._min_steps(min_steps),
            max_steps=max_steps,
            beta=self.beta if beta is None else beta,
            kl_warmup=self.kl_warmup,
            n_train_draws=self.n_train_draws,
            clip_grad_norm=self.clip_grad_norm,
            verbose=self.verbose,
        )
        self.module_ = self._build_module().to(device)
        return Trainer(self.module_, config)

    def _min_steps(self, min_steps: Any) -> int:
        """``min_steps`` as a number of steps (``"auto"`` resolved)."""
        if min_steps == "auto":
            return auto_min_steps(self.batch_size_)
        return int(min_steps)

    def _n_valid(self, n_rows: int) -> int:
        """Rows held out for early stopping out of ``n_rows``."""
        return min(int(n_rows * self.validation_fraction), _MAX_VALID_ROWS)

    def _fit_held_out(self, trainer: Trainer, x: Rows, callback: Any) -> None:
        """Train on ``x``, a random ``validation_fraction`` of it held out."""
        n_valid = self._n_valid(x.n_rows)
        order = torch.randperm(x.n_rows, device=x.targets.device)
        x_valid = x.take(order[:n_valid]) if n_valid > 0 else None
        trainer.fit(x.take(order[n_valid:]), x_valid, callback)

    def _untrimmed(self, scores: np.ndarray) -> np.ndarray:
        """Which training rows the second fit keeps (see ``trim``)."""
        if self.trim == "auto":
            cut = fit_offset(RobustZScoreThreshold(), scores)
            keep = scores >= cut
        else:
            keep = scores >= np.quantile(scores, self.trim)
        if keep.sum() < 2:  # nothing left to learn from: keep every row
            keep[:] = True
        return keep

    # -------------------------------------------------------------- scoring
    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        """Check ``X`` against (or, in ``fit``, learn) ``schema_``; return its values.

        The value matrix holds numbers, level codes and NaN for missing cells
        (see :class:`~vaeanomaly._schema.TableSchema`). scikit-learn's
        ``validate_data`` keeps the estimator's own ``n_features_in_`` and
        ``feature_names_in_`` and their checks.
        """
        if reset:
            schema = self._make_schema()
            values = schema.fit_transform(X)
            validate_data(self, X, skip_check_array=True, reset=True)
            self.schema_ = schema
            return values
        if not hasattr(X, "iloc") and getattr(X, "ndim", 2) != 2:
            return self.schema_.transform(X)  # scikit-learn's "Expected 2D array"
        validate_data(self, X, skip_check_array=True, reset=False)
        return self.schema_.transform(X)

    def _to_rows(
        self, values: np.ndarray, device: torch.device, dtype: Any = torch.float32
    ) -> Rows:
        """Encode a value matrix into the tensors the module reads."""
        return self._as_rows(self.schema_.encoder.encode(values), device, dtype)

    @staticmethod
    def _as_rows(encoded: tuple, device: torch.device, dtype: Any) -> Rows:
        """Put the encoder's ``(inputs, targets, mask)`` on ``device`` as tensors."""
        inputs, targets, mask = encoded
        targets_t = torch.as_tensor(targets, device=device).to(dtype)
        inputs_t = (
            targets_t
            if inputs is targets
            else torch.as_tensor(inputs, device=device).to(dtype)
        )
        mask_t = None if mask is None else torch.as_tensor(mask, device=device)
        return Rows(inputs_t, targets_t, mask_t)

    def _scoring_copy(self) -> VAE:
        """Return the float64 copy of ``module_`` that scoring runs on (one per fit).

        In float32, BLAS picks kernels by batch size, so a row's score moved by
        up to 5e-7 with the rows scored beside it (seen in scikit-learn's
        subset-invariance check); in float64 such differences are ~1e-15, far
        below any threshold.
        """
        cached = self.__dict__.get("_scoring_module")
        if cached is None or cached[0] is not self.module_:
            copy64 = copy.deepcopy(self.module_).to(torch.float64).eval()
            cached = (self.module_, copy64)
            self._scoring_module = cached
        return cached[1]

    def _score_noise(self, n_draws: int, device: torch.device) -> torch.Tensor:
        """Return the same standard normal draws on every call, for all rows."""
        generator = torch.Generator().manual_seed(self._score_seed)
        eps = torch.randn((n_draws, 1, self.latent_dim_), generator=generator)
        return eps.to(device)

    def _batched(
        self,
        fn: Any,
        X: np.ndarray,
        n_draws: int,
        *,
        per_cell: bool = False,
        from_prior: bool = False,
    ) -> np.ndarray:
        """Apply a scoring function to ``X`` in memory-bounded row batches.

        Scoring runs in float64 on :meth:`_scoring_copy`. With ``per_cell``,
        each row's result is divided by its number of observed cells. With
        ``from_prior`` (the methods of ``scoring.FROM_PRIOR``), the draws are
        the prior's, decoded once and passed to ``fn`` as ``prior``.
        """
        module = self._scoring_copy()
        device = next(module.parameters()).device
        eps = self._score_noise(n_draws, device).to(torch.float64)
        width = max(*self.hidden_dims_, module.likelihood.n_params, module.n_inputs)
        rows = max(1, _SCORING_BUDGET // (2 * n_draws * self.n_members * width))
        encoder = self.schema_.encoder
        out = []
        with _torch_threads(self.n_jobs), torch.inference_mode():
            if from_prior:  # the same draws for all rows: decoded once
                fn = functools.partial(fn, prior=decode_prior(module, eps))
            for start in range(0, X.shape[0], rows):
                encoded = encoder.encode(X[start : start + rows], bounded=True)
                batch = self._as_rows(encoded, device, torch.float64)
                result = fn(module, batch, eps)
                if per_cell:
                    observed = (
                        batch.mask.sum(-1)
                        if batch.mask is not None
                        else self.n_features_in_
                    )
                    result = result / observed
                out.append(result.cpu().numpy())
        return np.concatenate(out, axis=0)

    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        return self._batched(
            SCORE_METHODS[self.score_method],
            X,
            self._scoring_draws(),
            per_cell=self.score_per_cell and self.score_method in SUMMED_OVER_CELLS,
            from_prior=self.score_method in FROM_PRIOR,
        )

    def _scoring_draws(self) -> int:
        """Draws of z scoring takes: ``n_draws``, at least 256 for ``rarest_value``."""
        if self.score_method in FROM_PRIOR:
            return max(self.n_draws, _PRIOR_DRAWS)
        return self.n_draws

    def score_samples(self, X: Any) -> np.ndarray:
        """Score rows; higher means more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score, with the columns seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples,)
            The ``score_method`` estimate for each row, in nats (per observed
            cell with ``score_per_cell=True``, except ``"rarest_value"``,
            which is one cell's).
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self._score_samples(X)

    def score_features(self, X: Any) -> Any:
        """Each cell's contribution to the anomaly score, ``-E_q[log p(x_j|z)]``.

        Use it to see which columns made a row unusual: higher means the cell
        is less expected given its row. Values are in nats of the standardized
        data, so columns in different units compare fairly; a categorical
        column gives one value (minus the log-probability of its level) and a
        missing cell gives NaN. With ``score_method="rarest_value"`` each cell
        gets its surprisal under its column's marginal, ``-log p(x_j)``
        (:func:`vaeanomaly.scoring.marginal_surprisals`), whose largest is
        the row's score: the rarest value is the top column.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to explain.

        Returns
        -------
        ndarray or pandas.DataFrame of shape (n_samples, n_features)
            A DataFrame with ``X``'s index and the fitted column names when
            ``X`` is a DataFrame, else an array.
        """
        check_is_fitted(self)
        index = getattr(X, "index", None) if hasattr(X, "columns") else None
        X = self._validate(X, reset=False)
        contributions = self._batched(
            CELL_TERMS[self.score_method],
            X,
            self._scoring_draws(),
            from_prior=self.score_method in FROM_PRIOR,
        )
        if index is None:
            return contributions
        return pd.DataFrame(contributions, index=index, columns=self.schema_.names_)

    # ------------------------------------------------- the shared interface
    def _row_model(self) -> VAEAnomalyDetector:
        return self

    def _input_columns(self) -> list[str]:
        return list(self.schema_.names_)

    # ----------------------------------------------------------- model files
    def _module_state(self) -> dict[str, torch.Tensor]:
        """Return ``module_``'s weights as a state dict on the CPU."""
        return {
            key: value.detach().cpu()
            for key, value in self.module_.state_dict().items()
        }

    def _load_module(self, module_state: dict[str, torch.Tensor]) -> None:
        """Rebuild ``module_`` on the CPU from a :meth:`_module_state` dict."""
        self.module_ = self._build_module()
        self.module_.load_state_dict(module_state)
        self.module_.eval()

    def _get_state(self) -> dict:
        """Return the fitted state for :mod:`vaeanomaly.io`: plain values, tensors."""
        state = super()._get_state()
        state.pop("_scoring_module", None)
        if "module_" not in state:  # not fitted: nothing more to give
            return state
        state["schema_"] = self.schema_._get_state()
        state["module_"] = self._module_state()
        return state

    def _set_state(self, state: dict) -> None:
        """Take back what :meth:`_get_state` gave; the module lands on the CPU.

        The schema checks its own part, this detector the rest.

        Raises
        ------
        ValueError
            If a fitted value is missing or is one that no fit gives (a
            damaged or hand-edited model file).
        """
        state = dict(state)
        self.__dict__.pop("_scoring_module", None)
        if "module_" not in state:  # not fitted
            super()._set_state(state)
            return
        schema = self._make_schema()
        schema._set_state(state.pop("schema_"))
        module_state = state.pop("module_")
        super()._set_state({**state, "schema_": schema})
        self._check_state()
        self._load_module(module_state)

    def _check_state(self) -> None:
        """Refuse fitted values that no fit gives."""
        required = ("offset_", "threshold_", "history_", "n_iter_", "best_epoch_")
        missing = [name for name in required if not hasattr(self, name)]
        if missing:
            raise ValueError(f"the fitted values {missing} are missing")
        problems = []
        if not isinstance(self.offset_, float) or not math.isfinite(self.offset_):
            problems.append(f"offset_ is {self.offset_!r}, not a finite number")
        history = self.history_
        if history and not 1 <= self.best_epoch_ <= len(history):
            problems.append(
                f"best_epoch_ is {self.best_epoch_!r}, not one of the "
                f"{len(history)} epochs"
            )
        if problems:
            raise ValueError("; ".join(problems))

    def __getstate__(self) -> dict:
        """Pickle the parameters and the state that a model file holds.

        The fitted part is :meth:`_get_state`'s and comes back through
        :meth:`_set_state`, as from a model file: the module travels as a CPU
        state dict and the schema as its fitted values, and both are checked
        and rebuilt when loaded. What differs is what pickle can hold: the
        parameters and the fitted objects stay Python objects (a threshold
        class of your own, a ``RandomState``), where a model file holds plain
        values and the registered classes only; and unpickling runs code, so
        load only files you trust.
        """
        return {**self.get_params(deep=False), **self._get_state()}

    def __setstate__(self, state: dict) -> None:
        """Take back :meth:`__getstate__`'s parameters, then its fitted state."""
        names = set(self._get_param_names())
        super().__setstate__({k: v for k, v in state.items() if k in names})
        self._set_state({k: v for k, v in state.items() if k not in names})

    def __sklearn_tags__(self):
        """Declare that NaN is accepted when ``missing="mask"``."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing == "mask"
        return tags
