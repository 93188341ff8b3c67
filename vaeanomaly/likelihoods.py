"""Observation models p(x | z): turn decoder outputs into distributions.

Each head models a group of columns with one family of distributions and says
how many decoder outputs it needs per column. :class:`FactorizedLikelihood`
puts heads side by side so that a table can mix families (Gaussian for
measurements, Bernoulli for 0/1 flags); the log-likelihood of a row is the sum
of its columns' terms, which keeps per-column contributions available for
explanations and, later, for masking missing cells.

``HEADS`` maps the names accepted by ``VAEAnomalyDetector(likelihood=...)`` to
their classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Bernoulli, Distribution, Independent, Normal
from torch.nn.functional import softplus

__all__ = [
    "HEADS",
    "BernoulliHead",
    "ColumnGaussianHead",
    "ColumnwiseDistribution",
    "FactorizedLikelihood",
    "FixedGaussianHead",
    "GaussianHead",
]

#: Smallest standard deviation a Gaussian head may predict, in standardized
#: units. A floor keeps the likelihood bounded when a column is (nearly)
#: constant, so one column cannot dominate every score.
MIN_SCALE = 1e-2


class GaussianHead(nn.Module):
    """Gaussian with a mean and a standard deviation per row and per column.

    The decoder predicts both, so the model learns how noisy each column is in
    each region of the data (heteroscedastic). The scale is
    ``softplus(raw) + min_scale``, so it never collapses to zero.

    Parameters
    ----------
    n_columns : int
        Number of columns the head models.
    min_scale : float, default=MIN_SCALE
        Floor of the predicted standard deviation.
    """

    params_per_column = 2

    def __init__(self, n_columns: int, min_scale: float = MIN_SCALE) -> None:
        super().__init__()
        self.n_columns = n_columns
        self.min_scale = min_scale

    def forward(self, params: torch.Tensor) -> Distribution:
        """Return ``Independent(Normal(loc, scale), 1)`` over the columns."""
        loc, raw_scale = params.chunk(2, dim=-1)
        scale = softplus(raw_scale) + self.min_scale
        return Independent(Normal(loc, scale, validate_args=False), 1)


class ColumnGaussianHead(nn.Module):
    """Gaussian with a predicted mean and one learned standard deviation per column.

    The noise level of each column is learned (homoscedastic), but the decoder
    cannot make it larger for a particular row, so an unusual row cannot be
    "explained away" by a wide predicted variance, a known weakness of
    :class:`GaussianHead` for anomaly detection.

    Parameters
    ----------
    n_columns : int
        Number of columns the head models.
    min_scale : float, default=MIN_SCALE
        Floor of the standard deviation.
    """

    params_per_column = 1

    def __init__(self, n_columns: int, min_scale: float = MIN_SCALE) -> None:
        super().__init__()
        self.n_columns = n_columns
        self.min_scale = min_scale
        # softplus(0.5413) = 1: start at unit scale, the data's after standardizing.
        self.raw_scale = nn.Parameter(torch.full((n_columns,), 0.5413))

    def forward(self, params: torch.Tensor) -> Distribution:
        """Return ``Independent(Normal(loc, scale), 1)`` over the columns."""
        scale = softplus(self.raw_scale) + self.min_scale
        return Independent(
            Normal(params, scale.expand_as(params), validate_args=False), 1
        )


class FixedGaussianHead(nn.Module):
    """Gaussian with a predicted mean and a fixed standard deviation of 1.

    Its log-likelihood is minus half the squared error plus a constant: the
    plain mean-squared-error autoencoder, written as a likelihood. Use it to
    compare with squared-error models; :class:`GaussianHead` is usually better.

    Parameters
    ----------
    n_columns : int
        Number of columns the head models.
    """

    params_per_column = 1

    def __init__(self, n_columns: int) -> None:
        super().__init__()
        self.n_columns = n_columns

    def forward(self, params: torch.Tensor) -> Distribution:
        """Return ``Independent(Normal(loc, 1), 1)`` over the columns."""
        return Independent(
            Normal(params, torch.ones_like(params), validate_args=False), 1
        )


class BernoulliHead(nn.Module):
    """Bernoulli for columns that hold only 0 and 1, parameterised by logits.

    Parameters
    ----------
    n_columns : int
        Number of columns the head models.
    """

    params_per_column = 1

    def __init__(self, n_columns: int) -> None:
        super().__init__()
        self.n_columns = n_columns

    def forward(self, params: torch.Tensor) -> Distribution:
        """Return ``Independent(Bernoulli(logits=params), 1)`` over the columns."""
        return Independent(Bernoulli(logits=params, validate_args=False), 1)


HEADS: dict[str, type[nn.Module]] = {
    "gaussian": GaussianHead,
    "gaussian_column": ColumnGaussianHead,
    "gaussian_fixed": FixedGaussianHead,
    "bernoulli": BernoulliHead,
}


class ColumnwiseDistribution:
    """p(x | z) of a whole row, made of one distribution per group of columns.

    Parameters
    ----------
    parts : list of torch.distributions.Independent
        One distribution per group, each over the group's columns.
    columns : list of torch.Tensor or None
        The table positions of each group's columns; ``None`` when there is a
        single group that covers the table in order.
    inverse_order : torch.Tensor or None
        Permutation that puts the groups' columns back in the table's order;
        ``None`` for a single group.
    """

    def __init__(
        self,
        parts: list[Distribution],
        columns: list[torch.Tensor] | None = None,
        inverse_order: torch.Tensor | None = None,
    ) -> None:
        self.parts = parts
        self.columns = columns
        self.inverse_order = inverse_order

    def _in_table_order(self, pieces: list[torch.Tensor]) -> torch.Tensor:
        if self.inverse_order is None:
            return pieces[0]
        return torch.cat(pieces, dim=-1).index_select(-1, self.inverse_order)

    def log_prob_features(self, x: torch.Tensor) -> torch.Tensor:
        """Log-likelihood of each cell, shape ``(..., n_rows, n_features)``."""
        if self.columns is None:
            return self.parts[0].base_dist.log_prob(x)
        pieces = [
            part.base_dist.log_prob(x.index_select(-1, columns))
            for part, columns in zip(self.parts, self.columns, strict=True)
        ]
        return self._in_table_order(pieces)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-likelihood of each row, summed over its columns."""
        if self.inverse_order is None:
            return self.parts[0].log_prob(x)
        return self.log_prob_features(x).sum(-1)

    @property
    def mean(self) -> torch.Tensor:
        """Expected value of each cell, shape ``(..., n_rows, n_features)``."""
        return self._in_table_order([part.mean for part in self.parts])


class FactorizedLikelihood(nn.Module):
    """Likelihood of a row as a product of per-column heads.

    Parameters
    ----------
    column_heads : sequence of str
        The head name (a key of ``HEADS``) of each column, in table order.

    Attributes
    ----------
    n_params : int
        Number of decoder outputs the heads need in all.
    """

    def __init__(self, column_heads: Sequence[str]) -> None:
        super().__init__()
        self.column_heads = list(column_heads)
        names = sorted(set(self.column_heads), key=self.column_heads.index)
        self.heads = nn.ModuleDict()
        order: list[int] = []
        self.n_params = 0
        self._splits: list[int] = []
        for name in names:
            columns = [j for j, head in enumerate(self.column_heads) if head == name]
            head = HEADS[name](len(columns))
            self.heads[name] = head
            self.register_buffer(
                f"_columns_{name}", torch.tensor(columns), persistent=False
            )
            order.extend(columns)
            self._splits.append(head.params_per_column * len(columns))
            self.n_params += self._splits[-1]
        self._single = len(names) == 1
        inverse = torch.empty(len(order), dtype=torch.long)
        inverse[torch.tensor(order)] = torch.arange(len(order))
        self.register_buffer("_inverse_order", inverse, persistent=False)

    def forward(self, params: torch.Tensor) -> ColumnwiseDistribution:
        """Return p(x | z) for decoder outputs ``params``."""
        chunks = params.split(self._splits, dim=-1)
        parts = [
            head(chunk)
            for head, chunk in zip(self.heads.values(), chunks, strict=False)
        ]
        if self._single:
            return ColumnwiseDistribution(parts)
        columns = [getattr(self, f"_columns_{name}") for name in self.heads]
        return ColumnwiseDistribution(parts, columns, self._inverse_order)
