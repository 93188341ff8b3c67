"""Observation models p(x | z): turn decoder outputs into distributions.

Each head models a group of columns with one family of distributions and says
how many decoder outputs it needs per column. :class:`FactorizedLikelihood`
puts heads side by side so that a table can mix families (Student-t for
measurements, Bernoulli for 0/1 flags, Categorical for text categories); the
log-likelihood of a row is the sum of its columns' terms, which keeps
per-column contributions available for explanations and lets the terms of
missing cells be left out.

``HEADS`` maps the names accepted by ``VAEAnomalyDetector(likelihood=...)`` to
their classes; :class:`CategoricalHead` is chosen per column from the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import (
    Bernoulli,
    Chi2,
    Distribution,
    Independent,
    Normal,
    StudentT,
)
from torch.nn.functional import softplus

from vaeanomaly._names import CATEGORICAL

__all__ = [
    "HEADS",
    "MIN_SCALE",
    "UNKNOWN_LEVEL_MASS",
    "BernoulliHead",
    "CategoricalHead",
    "ColumnGaussianHead",
    "ColumnStudentTHead",
    "ColumnwiseDistribution",
    "FactorizedLikelihood",
    "FixedGaussianHead",
    "GaussianHead",
    "LevelsDistribution",
    "STUDENT_T_DF",
    "SharedScaleNormal",
    "SharedScaleStudentT",
    "scale_floors",
]

#: Smallest standard deviation a Gaussian head may predict, in standardized
#: units. A floor keeps the likelihood bounded when a column is (nearly)
#: constant, so one column cannot dominate every score.
MIN_SCALE = 1e-2

#: Probability a categorical head gives to any level it did not see in
#: training; the seen levels share the rest. An unseen level then costs
#: ``-log(1e-3) = 6.9`` nats, as much as a known level the model thinks has a
#: 0.1% chance, so it scores as unusual without dominating every other column.
UNKNOWN_LEVEL_MASS = 1e-3


#: Degrees of freedom of :class:`ColumnStudentTHead`, the default head of
#: measured columns. With 4 (the robust choice of Lange, Little & Taylor,
#: 1989), a cell k scales away from the decoded value costs
#: ``2.5 * log(1 + k**2 / 4)`` nats instead of the Gaussian's ``k**2 / 2``:
#: one stray reading in a column the model predicts well can no longer
#: outweigh a row that is unusual in many columns. On the 23 ADBench
#: development sets it raised the mean AP from 0.436 to 0.473 and the mean
#: AUROC from 0.830 to 0.840 (benchmarks/decisions/likelihood.md).
STUDENT_T_DF = 4.0

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def student_t_log_norm(df: float) -> float:
    """Log of the Student-t density's normalising constant at unit scale.

    ``lgamma((df + 1) / 2) - lgamma(df / 2) - log(df * pi) / 2``.
    """
    return (
        math.lgamma(0.5 * (df + 1.0))
        - math.lgamma(0.5 * df)
        - 0.5 * math.log(df * math.pi)
    )


def scale_floors(resolution: Sequence[float]) -> list[float]:
    """Floor of each Gaussian column's standard deviation, from its resolution.

    A column whose values come in steps (counts, ratings, rounded readings,
    a handful of codes) has no density: fitted by a Gaussian, its learned
    standard deviation shrinks towards zero around the repeated values, the
    likelihood grows without bound, and a value one step off the predicted
    one costs thousands of nats. Scores are then set by which discrete cells
    the decoder hits exactly, and training runs long while the scales shrink.
    Uniform dequantisation (adding noise uniform over a step, Theis et al.,
    2016) bounds the likelihood by that of the step's probability; the
    standard deviation that a Gaussian fitted to such noise settles at is
    ``step / sqrt(12)``, which is the floor used here. Columns of continuous
    values (tiny steps) keep :data:`MIN_SCALE`.

    Parameters
    ----------
    resolution : sequence of float
        Smallest step between the distinct values of each column, in the units
        the head models (standardized); 0 when unknown.

    Returns
    -------
    list of float
        ``max(MIN_SCALE, step / sqrt(12))`` for each column.
    """
    return [max(MIN_SCALE, float(step) / math.sqrt(12.0)) for step in resolution]


def _floors(min_scale: float | Sequence[float], n_columns: int) -> torch.Tensor:
    floors = torch.as_tensor(min_scale, dtype=torch.float32)
    return floors.expand(n_columns).clone() if floors.dim() == 0 else floors


class SharedScaleNormal(Normal):
    """Normal whose standard deviation is one value per column, shared by all rows.

    ``Normal.log_prob`` computes ``log(scale)`` and ``scale ** 2`` for every
    cell, even when the scale is a broadcast column vector; here they are
    computed once per column, and a cell costs a subtraction, a product and a
    square. Scoring a 20-column table spent about a quarter of its time on
    those per-cell logs and powers.

    Parameters
    ----------
    loc : torch.Tensor of shape (..., n_columns)
        Means.
    column_scale : torch.Tensor of shape (n_columns,) or (n_members, 1, n_columns)
        Standard deviation of each column (of each ensemble member).
    """

    def __init__(self, loc: torch.Tensor, column_scale: torch.Tensor) -> None:
        # Normal.__init__ broadcasts loc and scale into new tensors on every
        # training step; the attributes are set directly instead (the same
        # distribution, without argument validation).
        self.loc = loc
        self.scale = column_scale.expand_as(loc)
        Distribution.__init__(self, loc.shape, validate_args=False)
        self._inv_scale = column_scale.reciprocal()
        self._log_norm = column_scale.log() + _LOG_SQRT_2PI

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Log-density of each cell, equal to ``Normal.log_prob``."""
        standardized = (value - self.loc) * self._inv_scale
        return -0.5 * standardized.square() - self._log_norm


class SharedScaleStudentT(StudentT):
    """Student-t whose scale is one value per column, shared by all rows.

    As :class:`SharedScaleNormal`, the per-column logarithms are computed once
    per column instead of once per cell.

    Parameters
    ----------
    loc : torch.Tensor of shape (..., n_columns)
        Locations (the means, for ``df > 1``).
    column_scale : torch.Tensor of shape (n_columns,) or (n_members, 1, n_columns)
        Scale of each column (of each ensemble member).
    df : float
        Degrees of freedom, the same for every column.
    """

    def __init__(
        self, loc: torch.Tensor, column_scale: torch.Tensor, df: float
    ) -> None:
        # StudentT.__init__ builds a df tensor, broadcasts the arguments and a
        # Chi2 distribution (for sampling) on every training step, a tenth of
        # a step's time on a small model; only what log_prob needs is built
        # here, the rest on first use (see ``df`` and ``_chi2``).
        self.loc = loc
        self.scale = column_scale.expand_as(loc)
        self._df_value = float(df)
        Distribution.__init__(self, loc.shape, validate_args=False)
        self._inv_scale = column_scale.reciprocal()
        df = self._df_value
        self._half_df_plus_one = 0.5 * (df + 1.0)
        self._inv_df = 1.0 / df
        self._log_norm = column_scale.log() - student_t_log_norm(df)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Log-density of each cell, equal to ``StudentT.log_prob``."""
        standardized = (value - self.loc) * self._inv_scale
        spread = torch.log1p(standardized.square() * self._inv_df)
        return -self._half_df_plus_one * spread - self._log_norm

    @property
    def df(self) -> torch.Tensor:
        """Degrees of freedom, one per cell (as ``StudentT.df``)."""
        return self.loc.new_tensor(self._df_value).expand_as(self.loc)

    @property
    def _chi2(self) -> Chi2:
        """The Chi2 distribution that ``StudentT.rsample`` draws from."""
        return Chi2(self.df)


class _ColumnHead(nn.Module):
    """Base of the heads that need ``params_per_column`` decoder outputs per column."""

    params_per_column = 1
    #: Whether the table schema centres and scales the column for this head.
    standardized = True
    #: ``(low, high)`` that every value must lie in, or ``None`` for any number.
    value_range: tuple[float, float] | None = None

    def __init__(self, n_columns: int, n_members: int = 1) -> None:
        super().__init__()
        self.n_columns = n_columns
        self.n_members = n_members

    @property
    def n_params(self) -> int:
        """Number of decoder outputs the head reads."""
        return self.params_per_column * self.n_columns


class _ScaledHead(_ColumnHead):
    """Base of the Gaussian heads: a floor under the standard deviation per column."""

    def __init__(
        self,
        n_columns: int,
        min_scale: float | Sequence[float] = MIN_SCALE,
        n_members: int = 1,
    ) -> None:
        super().__init__(n_columns, n_members)
        self.register_buffer(
            "min_scale", _floors(min_scale, n_columns), persistent=False
        )


class GaussianHead(_ScaledHead):
    """Gaussian with a mean and a standard deviation per row and per column.

    The decoder predicts both, so the model learns how noisy each column is in
    each region of the data (heteroscedastic). The scale is
    ``softplus(raw) + min_scale``, so it never collapses to zero.

    Parameters
    ----------
    n_columns : int
        Number of columns the head models.
    min_scale : float or sequence of float, default=MIN_SCALE
        Floor of the predicted standard deviation, one value or one per
        column (see :func:`scale_floors`).
    n_members : int, default=1
        Number of ensemble members (see :class:`vaeanomaly._model.VAE`).
    """

    params_per_column = 2

    def forward(self, params: torch.Tensor) -> Distribution:
        """Return ``Independent(Normal(loc, scale), 1)`` over the columns."""
        loc, raw_scale = params.chunk(2, dim=-1)
        scale = softplus(raw_scale) + self.min_scale
        return Independent(Normal(loc, scale, validate_args=False), 1)


class ColumnGaussianHead(_ScaledHead):
    """Gaussian with a predicted mean and one learned standard deviation per column.

    The noise level of each column is learned (homoscedastic), but the decoder
    cannot make it larger for a particular row, so an unusual row cannot be
    "explained away" by a wide predicted variance, a known weakness of
    :class:`GaussianHead` for anomaly detection.

    Parameters
    ----------
    n_columns : int
        Number of columns the head models.
    min_scale : float or sequence of float, default=MIN_SCALE
        Floor of the standard deviation, one value or one per column (see
        :func:`scale_floors`).
    n_members : int, default=1
        Number of ensemble members, each with its own scales (see
        :class:`vaeanomaly._model.VAE`).
    """

    def __init__(
        self,
        n_columns: int,
        min_scale: float | Sequence[float] = MIN_SCALE,
        n_members: int = 1,
    ) -> None:
        super().__init__(n_columns, min_scale, n_members)
        # softplus(0.5413) = 1: start at unit scale, the data's after standardizing.
        # Shape (n_members, 1, n_columns) broadcasts over draws and rows.
        self.raw_scale = nn.Parameter(torch.full((n_members, 1, n_columns), 0.5413))

    def column_scale(self) -> torch.Tensor:
        """Scale of each column, shape ``(n_members, 1, n_columns)``."""
        return softplus(self.raw_scale) + self.min_scale

    def forward(self, params: torch.Tensor) -> Distribution:
        """Return ``Independent(Normal(loc, scale), 1)`` over the columns."""
        return Independent(SharedScaleNormal(params, self.column_scale()), 1)


class ColumnStudentTHead(ColumnGaussianHead):
    """Student-t with a predicted location and one learned scale per column.

    :class:`ColumnGaussianHead` with heavy tails (:data:`STUDENT_T_DF`
    degrees of freedom): a cell far from the decoded value costs nats that
    grow with the logarithm of its distance, not its square, so a single
    stray cell weighs less against a row unusual in many columns. The
    default head of measured columns (``likelihood="auto"``).

    Parameters
    ----------
    n_columns : int
        Number of columns the head models.
    min_scale : float or sequence of float, default=MIN_SCALE
        Floor of the scale, one value or one per column (see
        :func:`scale_floors`).
    n_members : int, default=1
        Number of ensemble members, each with its own scales (see
        :class:`vaeanomaly._model.VAE`).
    """

    def forward(self, params: torch.Tensor) -> Distribution:
        """Return ``Independent(StudentT(df, loc, scale), 1)`` over the columns."""
        scale = self.column_scale()
        return Independent(SharedScaleStudentT(params, scale, STUDENT_T_DF), 1)


class FixedGaussianHead(_ColumnHead):
    """Gaussian with a predicted mean and a fixed standard deviation of 1.

    Its log-likelihood is minus half the squared error plus a constant: the
    plain mean-squared-error autoencoder, written as a likelihood. Use it to
    compare with squared-error models; :class:`GaussianHead` is usually better.

    Parameters
    ----------
    n_columns : int
        Number of columns the head models.
    """

    def forward(self, params: torch.Tensor) -> Distribution:
        """Return ``Independent(Normal(loc, 1), 1)`` over the columns."""
        return Independent(
            SharedScaleNormal(params, params.new_ones(self.n_columns)), 1
        )


class BernoulliHead(_ColumnHead):
    """Bernoulli for columns that hold only 0 and 1, parameterised by logits.

    Parameters
    ----------
    n_columns : int
        Number of columns the head models.
    """

    standardized = False
    value_range = (0.0, 1.0)

    def forward(self, params: torch.Tensor) -> Distribution:
        """Return ``Independent(Bernoulli(logits=params), 1)`` over the columns."""
        return Independent(Bernoulli(logits=params, validate_args=False), 1)


HEADS: dict[str, type[nn.Module]] = {
    "gaussian": GaussianHead,
    "gaussian_column": ColumnGaussianHead,
    "gaussian_fixed": FixedGaussianHead,
    "student_t_column": ColumnStudentTHead,
    "bernoulli": BernoulliHead,
}


class LevelsDistribution:
    """Categorical distributions of several columns, each over its own levels.

    A cell holds the code of its level (0, 1, ... as a float) or -1 for a
    level not seen in training, which gets probability
    :data:`UNKNOWN_LEVEL_MASS`; the seen levels share the rest in proportion
    to the softmax of their logits.

    Parameters
    ----------
    logits : torch.Tensor of shape (..., n_params)
        The levels' logits, column after column (``head``'s layout).
    log_normalizer : torch.Tensor of shape (..., n_columns)
        Each column's log-sum-exp of its logits.
    head : CategoricalHead
        The head that made them; it knows where each column's levels are.
    """

    def __init__(
        self, logits: torch.Tensor, log_normalizer: torch.Tensor, head: CategoricalHead
    ) -> None:
        self.logits = logits
        self.log_normalizer = log_normalizer
        self.head = head

    def _positions(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Where each cell's level sits among the logits; which cells are unknown."""
        unknown = x < 0
        return self.head.level_starts + torch.where(unknown, 0, x).long(), unknown

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-probability of each cell's level, shape ``(..., n_columns)``."""
        positions, unknown = self._positions(x)
        logits = self.logits
        if logits.shape[-2] != positions.shape[-2]:
            # One distribution for many rows (the prior draws of
            # ``scoring.rarest_value``, decoded once): broadcast, as torch's do.
            batch = torch.broadcast_shapes(logits.shape[:-1], positions.shape[:-1])
            logits = logits.expand(*batch, logits.shape[-1])
        positions = positions.expand(*logits.shape[:-1], positions.shape[-1])
        known = logits.gather(-1, positions) - self.log_normalizer
        known = known + math.log1p(-UNKNOWN_LEVEL_MASS)
        return torch.where(unknown, math.log(UNKNOWN_LEVEL_MASS), known)

    def level_probabilities(self) -> torch.Tensor:
        """Each level's softmax probability in its column, shape ``(..., n_params)``.

        The seen levels' share, before :data:`UNKNOWN_LEVEL_MASS` is set aside.
        """
        return torch.exp(self.logits - self.head.per_level(self.log_normalizer))

    def indicators(self, x: torch.Tensor) -> torch.Tensor:
        """One-hot rows of the cells' levels, ``(..., n_params)``; 0 where unknown."""
        positions, unknown = self._positions(x)
        hits = torch.zeros(
            (*x.shape[:-1], self.head.n_params),
            dtype=self.logits.dtype,
            device=x.device,
        )
        return hits.scatter_(-1, positions, (~unknown).to(hits.dtype))

    def squared_error(self, x: torch.Tensor) -> torch.Tensor:
        """Brier score of each cell: squared distance of its one-hot code to p.

        The analogue of the squared error for a category; an unseen level is
        a level of its own, predicted with probability 0.
        """
        probs = self.level_probabilities() * (1.0 - UNKNOWN_LEVEL_MASS)
        positions, unknown = self._positions(x)
        hit = probs.gather(-1, positions.expand(*probs.shape[:-1], positions.shape[-1]))
        hit = torch.where(unknown, 0.0, hit)
        spread = probs.new_zeros((*probs.shape[:-1], self.head.n_columns))
        spread = spread.index_add(-1, self.head.level_columns, probs.square())
        return 1.0 - 2.0 * hit + spread


class CategoricalHead(nn.Module):
    """Categorical (softmax) likelihood for columns of categories.

    The decoder gives one logit per level of each column. The levels of a
    column are the ones seen in training; a level never seen gets the fixed
    small probability :data:`UNKNOWN_LEVEL_MASS`, so it scores as unusual and
    never fails.

    Parameters
    ----------
    n_levels : sequence of int
        Number of levels of each column.

    Notes
    -----
    Each column's log-sum-exp is computed for the columns with the same number
    of levels together, as element-wise operations across the levels (for two
    levels, ``max(a, b) + log1p(exp(-|a - b|))``). A softmax along a last axis of a few
    levels, padded to the widest column, spent most of a training step on
    tables of many small columns: CPU reductions over a short last axis are
    slow.
    """

    def __init__(self, n_levels: Sequence[int]) -> None:
        super().__init__()
        self.n_levels = [int(k) for k in n_levels]
        if not self.n_levels or min(self.n_levels) < 1:
            raise ValueError(
                f"CategoricalHead needs at least one level per column; got {n_levels}."
            )
        self.n_columns = len(self.n_levels)
        self.n_params = sum(self.n_levels)
        counts = torch.tensor(self.n_levels)
        starts = counts.cumsum(0) - counts
        self.register_buffer("level_starts", starts, persistent=False)
        self.register_buffer(
            "level_columns",
            torch.repeat_interleave(torch.arange(self.n_columns), counts),
            persistent=False,
        )
        # The logits regrouped by the columns' number of levels (a view when
        # they already are: one width, or widths in rising order), each
        # group's (width, first, last) in that layout, and the order that
        # puts the groups' columns back.
        widths = sorted(set(self.n_levels))
        columns = [
            c for width in widths for c, k in enumerate(self.n_levels) if k == width
        ]
        positions = torch.cat(
            [torch.arange(starts[c], starts[c] + self.n_levels[c]) for c in columns]
        )
        self._groups, first = [], 0
        for width in widths:
            last = first + width * self.n_levels.count(width)
            self._groups.append((width, first, last))
            first = last
        self._regrouped = not torch.equal(positions, torch.arange(self.n_params))
        self.register_buffer("_positions", positions, persistent=False)
        self.register_buffer(
            "_column_order", torch.argsort(torch.tensor(columns)), persistent=False
        )
        self._reordered = columns != sorted(columns)

    def forward(self, params: torch.Tensor) -> LevelsDistribution:
        """Return the per-column categorical distributions for logits ``params``."""
        grouped = (
            params.index_select(-1, self._positions) if self._regrouped else params
        )
        pieces = [
            _log_sum_exp_levels(grouped[..., first:last].unflatten(-1, (-1, width)))
            for width, first, last in self._groups
        ]
        normalizer = pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=-1)
        if self._reordered:
            normalizer = normalizer.index_select(-1, self._column_order)
        return LevelsDistribution(params, normalizer, self)

    def per_level(self, values: torch.Tensor) -> torch.Tensor:
        """Repeat each column's entry of ``values`` (last axis) once per level."""
        return values.index_select(-1, self.level_columns)


def _log_sum_exp_levels(slots: torch.Tensor) -> torch.Tensor:
    """Log-sum-exp over the last axis, of a few levels, as element-wise operations."""
    levels = slots.unbind(-1)
    if len(levels) == 1:
        return levels[0]
    if len(levels) == 2:
        first, second = levels  # logaddexp, whose kernel is slow on strided views
        top = torch.maximum(first, second)
        return top + torch.log1p(torch.exp(-(first - second).abs()))
    top = levels[0]
    for level in levels[1:]:
        top = torch.maximum(top, level)
    top = top.detach()
    total = torch.exp(levels[0] - top)
    for level in levels[1:]:
        total = total + torch.exp(level - top)
    return top + torch.log(total)


def _cell_log_prob(part: object, x: torch.Tensor) -> torch.Tensor:
    """Per-cell log-likelihood of one group (``Independent`` or levels)."""
    return getattr(part, "base_dist", part).log_prob(x)


def _cell_squared_error(part: object, x: torch.Tensor) -> torch.Tensor:
    if isinstance(part, LevelsDistribution):
        return part.squared_error(x)
    return (x - part.mean) ** 2


class ColumnwiseDistribution:
    """p(x | z) of a whole row, made of one distribution per group of columns.

    Every method takes the targets ``x`` of shape ``(n_rows, n_features)``
    (standardized values, 0/1 flags or level codes) and, optionally, a boolean
    ``mask`` of the same shape that is False for missing cells: their terms
    are left out (set to 0 in per-cell results and sums).

    Parameters
    ----------
    parts : list
        One distribution per group: ``Independent`` over the group's columns,
        or a :class:`LevelsDistribution`.
    columns : list of torch.Tensor or None
        The table positions of each group's columns; ``None`` when there is a
        single group that covers the table in order.
    inverse_order : torch.Tensor or None
        Permutation that puts the groups' columns back in the table's order;
        ``None`` for a single group.
    """

    def __init__(
        self,
        parts: list[object],
        columns: list[torch.Tensor] | None = None,
        inverse_order: torch.Tensor | None = None,
    ) -> None:
        self.parts = parts
        self.columns = columns
        self.inverse_order = inverse_order

    def _per_cell(self, cell_fn, x: torch.Tensor, mask: torch.Tensor | None):
        if self.columns is None:
            values = cell_fn(self.parts[0], x)
        else:
            pieces = [
                cell_fn(part, x.index_select(-1, columns))
                for part, columns in zip(self.parts, self.columns, strict=True)
            ]
            values = torch.cat(pieces, dim=-1).index_select(-1, self.inverse_order)
        if mask is not None:
            values = torch.where(mask, values, 0.0)
        return values

    def log_prob_features(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Log-likelihood of each cell, shape ``(..., n_rows, n_features)``."""
        return self._per_cell(_cell_log_prob, x, mask)

    def log_prob(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Log-likelihood of each row: the sum over its observed cells."""
        if (
            mask is None
            and self.columns is None
            and hasattr(self.parts[0], "base_dist")
        ):
            return self.parts[0].log_prob(x)
        return self.log_prob_features(x, mask).sum(-1)

    def squared_error_features(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Squared error of each cell to its expected value (Brier score for levels)."""
        return self._per_cell(_cell_squared_error, x, mask)


class FactorizedLikelihood(nn.Module):
    """Likelihood of a row as a product of per-column heads.

    Parameters
    ----------
    column_heads : sequence of str
        The head name of each column, in table order: a key of ``HEADS`` or
        ``"categorical"``.
    n_levels : sequence of int, default=()
        Number of levels of each categorical column, in table order.
    min_scales : sequence of float, default=None
        Floor of the standard deviation of each column, in table order (read
        by the Gaussian heads; see :func:`scale_floors`). ``None`` uses
        :data:`MIN_SCALE` for every column.
    n_members : int, default=1
        Number of ensemble members whose decoder outputs the heads read
        side by side (see :class:`vaeanomaly._model.VAE`).

    Attributes
    ----------
    n_params : int
        Number of decoder outputs the heads need in all.
    """

    def __init__(
        self,
        column_heads: Sequence[str],
        n_levels: Sequence[int] = (),
        min_scales: Sequence[float] | None = None,
        n_members: int = 1,
    ) -> None:
        super().__init__()
        self.column_heads = list(column_heads)
        n_categorical = self.column_heads.count(CATEGORICAL)
        if len(n_levels) != n_categorical:
            raise ValueError(
                f"{n_categorical} categorical column(s) need as many level counts; "
                f"got n_levels={list(n_levels)}."
            )
        names = sorted(set(self.column_heads), key=self.column_heads.index)
        self.heads = nn.ModuleDict()
        order: list[int] = []
        self.n_params = 0
        self._splits: list[int] = []
        for name in names:
            columns = [j for j, head in enumerate(self.column_heads) if head == name]
            if name == CATEGORICAL:
                head = CategoricalHead(n_levels)
            elif issubclass(HEADS[name], _ScaledHead) and min_scales is not None:
                floors = [min_scales[j] for j in columns]
                head = HEADS[name](len(columns), floors, n_members=n_members)
            else:
                head = HEADS[name](len(columns), n_members=n_members)
            self.heads[name] = head
            self.register_buffer(
                f"_columns_{name}", torch.tensor(columns), persistent=False
            )
            order.extend(columns)
            self._splits.append(head.n_params)
            self.n_params += head.n_params
        self._single = len(names) == 1
        inverse = torch.empty(len(order), dtype=torch.long)
        inverse[torch.tensor(order)] = torch.arange(len(order))
        self.register_buffer("_inverse_order", inverse, persistent=False)

    def groups(self) -> list[tuple[nn.Module, torch.Tensor | None, int]]:
        """Each head with its columns' table positions and its decoder outputs.

        In the order the decoder's outputs are split among the heads; the
        positions are ``None`` when one head models the whole table in order.
        """
        return [
            (head, None if self._single else getattr(self, f"_columns_{name}"), n)
            for (name, head), n in zip(self.heads.items(), self._splits, strict=True)
        ]

    def forward(self, params: torch.Tensor) -> ColumnwiseDistribution:
        """Return p(x | z) for decoder outputs ``params``."""
        chunks = params.split(self._splits, dim=-1)
        parts = [
            head.forward(chunk)  # no hooks: see vaeanomaly._model
            for head, chunk in zip(self.heads.values(), chunks, strict=False)
        ]
        if self._single:
            return ColumnwiseDistribution(parts)
        columns = [getattr(self, f"_columns_{name}") for name in self.heads]
        return ColumnwiseDistribution(parts, columns, self._inverse_order)
