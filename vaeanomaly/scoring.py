"""Per-row scores of a trained VAE: pure functions, one value per row.

Every function takes the module, the rows ``x`` (a float tensor of shape
``(n_rows, n_features)``, or :class:`~vaeanomaly._model.Rows` when the encoder
input differs from the targets or cells are missing) and standard normal
noise ``eps`` of shape ``(n_draws, 1 or n_rows, latent_dim)``, and returns a
tensor of shape ``(n_rows,)`` in which higher means more normal. Missing
cells (False in ``Rows.mask``) add nothing: a row is scored on what it has.
All draws go through the decoder together as one batched pass, and averages
over draws of
probabilities are taken in log space with ``logsumexp``, so nothing
underflows however unlikely a row is.

A module with several ensemble members (see :mod:`vaeanomaly._model`)
scores a row by the mean of its members' estimates: an average of
log-likelihood bounds, whose per-cell contributions are the mean of the
members' contributions. :func:`rarest_value` is the exception on both
counts: its ``eps`` are draws of the prior, shared by all rows (shape
``(n_draws, 1, latent_dim)``), and the members' draws are pooled into one
mixture for each column's marginal.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from vaeanomaly._model import VAE, Rows, as_rows

__all__ = [
    "CELL_TERMS",
    "FROM_PRIOR",
    "SCORE_METHODS",
    "SUMMED_OVER_CELLS",
    "elbo",
    "member_elbo",
    "decode_prior",
    "feature_contributions",
    "marginal_surprisals",
    "iw_elbo",
    "reconstruction_error",
    "reconstruction_probability",
    "rarest_value",
]


def _log_mean_exp(values: torch.Tensor) -> torch.Tensor:
    """Log of the mean of ``exp(values)`` over the draws (dimension 0)."""
    return torch.logsumexp(values, dim=0) - math.log(values.shape[0])


def member_elbo(
    module: VAE, x: torch.Tensor | Rows, eps: torch.Tensor, *, beta: float = 1.0
) -> torch.Tensor:
    """Monte-Carlo ELBO of each row under each ensemble member.

    Parameters
    ----------
    module : VAE
        The model.
    x : torch.Tensor of shape (n_rows, n_features) or Rows
        Rows to score.
    eps : torch.Tensor of shape (n_draws, [n_members,] 1 or n_rows, latent_dim)
        Standard normal noise for the reparameterisation.
    beta : float, default=1.0
        Weight of the KL term.

    Returns
    -------
    torch.Tensor of shape (n_members, n_rows)
    """
    rows = as_rows(x)
    out = module(rows.inputs, eps)
    log_px = out.p_x.log_prob(rows.targets, rows.mask)
    # One draw (training) and beta = 1 take no mean and no product: the same
    # values in two fewer operations of a training step.
    log_px = log_px[0] if log_px.shape[0] == 1 else log_px.mean(dim=0)
    kl = module.kl_to_prior(out.q_z)
    return log_px - (kl if beta == 1.0 else beta * kl)


def elbo(
    module: VAE, x: torch.Tensor | Rows, eps: torch.Tensor, *, beta: float = 1.0
) -> torch.Tensor:
    """Monte-Carlo evidence lower bound of each row.

    ``mean_l log p(x | z_l) - beta * KL(q(z | x) || p(z))``, with the KL in
    closed form.

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features) or Rows
        Rows to score.
    eps : torch.Tensor of shape (n_draws, 1 or n_rows, latent_dim)
        Standard normal noise for the reparameterisation.
    beta : float, default=1.0
        Weight of the KL term (1 gives the true ELBO).

    Returns
    -------
    torch.Tensor of shape (n_rows,)
        The ELBO of each row, a lower bound on log p(x) (the mean over
        ensemble members).
    """
    return member_elbo(module, x, eps, beta=beta).mean(dim=0)


def iw_elbo(module: VAE, x: torch.Tensor | Rows, eps: torch.Tensor) -> torch.Tensor:
    """Importance-weighted bound on log p(x) (Burda et al., 2016).

    ``logsumexp_l [log p(x | z_l) + log p(z_l) - log q(z_l | x)] - log L``.
    It is tighter than the ELBO and tends to log p(x) as ``L`` grows; with one
    draw it equals the single-sample ELBO.

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features) or Rows
        Rows to score.
    eps : torch.Tensor of shape (n_draws, 1 or n_rows, latent_dim)
        Standard normal noise for the reparameterisation.

    Returns
    -------
    torch.Tensor of shape (n_rows,)
    """
    rows = as_rows(x)
    out = module(rows.inputs, eps)
    log_w = (
        out.p_x.log_prob(rows.targets, rows.mask)
        + module.prior(rows.inputs).log_prob(out.z)
        - out.q_z.log_prob(out.z)
    )
    return _log_mean_exp(log_w).mean(dim=0)


def reconstruction_probability(
    module: VAE, x: torch.Tensor | Rows, eps: torch.Tensor
) -> torch.Tensor:
    """Reconstruction probability of An & Cho (2015), in log space.

    ``log (1/L) sum_l p(x | z_l)`` with ``z_l`` drawn from q(z | x).

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features) or Rows
        Rows to score.
    eps : torch.Tensor of shape (n_draws, 1 or n_rows, latent_dim)
        Standard normal noise for the reparameterisation.

    Returns
    -------
    torch.Tensor of shape (n_rows,)
    """
    rows = as_rows(x)
    out = module(rows.inputs, eps)
    return _log_mean_exp(out.p_x.log_prob(rows.targets, rows.mask)).mean(dim=0)


def reconstruction_error(
    module: VAE, x: torch.Tensor | Rows, eps: torch.Tensor | None = None
) -> torch.Tensor:
    """Minus the squared error between a row and its decoded mean.

    The row is decoded from the posterior mean of z, as a plain autoencoder
    would. It is here to compare with squared-error detectors; ``eps`` is
    accepted for a uniform signature and ignored. A categorical cell counts
    its Brier score, the squared error of its one-hot code.

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features) or Rows
        Rows to score.
    eps : torch.Tensor, optional
        Ignored.

    Returns
    -------
    torch.Tensor of shape (n_rows,)
    """
    rows = as_rows(x)
    q_z = module.encode(rows.inputs)
    p_x = module.decode(q_z.mean)
    return -p_x.squared_error_features(rows.targets, rows.mask).sum(dim=-1).mean(0)


def feature_contributions(
    module: VAE, x: torch.Tensor | Rows, eps: torch.Tensor
) -> torch.Tensor:
    """Each cell's share of the anomaly score: ``-E_q[log p(x_j | z)]``.

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features) or Rows
        Rows to explain.
    eps : torch.Tensor of shape (n_draws, 1 or n_rows, latent_dim)
        Standard normal noise for the reparameterisation.

    Returns
    -------
    torch.Tensor of shape (n_rows, n_features)
        Higher means the cell is less expected given the rest of its row;
        missing cells get NaN.
    """
    rows = as_rows(x)
    out = module(rows.inputs, eps)
    contributions = -out.p_x.log_prob_features(rows.targets).mean(dim=(0, 1))
    if rows.mask is not None:
        contributions = contributions.masked_fill(~rows.mask, math.nan)
    return contributions


def rarest_value(
    module: VAE, x: torch.Tensor | Rows, eps: torch.Tensor, *, prior: object = None
) -> torch.Tensor:
    """Minus the largest surprisal of a row's cells under the columns' marginals.

    The model's marginal of column ``j`` is ``p(x_j) = E_p(z)[p(x_j | z)]``,
    estimated as ``(1/L) sum_l p(x_j | z_l)`` over the ``L`` draws of ``eps``
    taken as draws of the prior N(0, I): the same draws for every row, decoded
    once. A row scores ``-max_j [-log p(x_j)]`` over its observed cells: how
    rare its rarest value is for its column, whatever the rest of the row.

    The ELBO asks how likely the row is as a whole, so a group of similar
    anomalies that the model has learnt as one more mode scores as likely,
    even when each of them holds a value the column almost never takes. This
    score does not look at how the values combine: it finds such a group
    (a level or a magnitude rare in its column), and misses anomalies made of
    common values in an unusual combination, which the ELBO finds.

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features) or Rows
        Rows to score.
    eps : torch.Tensor of shape (n_draws, 1, latent_dim)
        Standard normal draws, used as draws of z from the prior.
    prior : optional
        ``decode_prior(module, eps)``, as in :func:`marginal_surprisals`.

    Returns
    -------
    torch.Tensor of shape (n_rows,)
        Minus the largest cell surprisal, in nats; the ensemble's members pool
        their draws. A numeric cell's surprisal is minus a log-density of the
        standardized column, a categorical or 0/1 cell's minus a
        log-probability: on mixed tables the two are compared on that scale.
    """
    surprisals = marginal_surprisals(module, x, eps, prior=prior)
    return -surprisals.nan_to_num(nan=-math.inf).max(dim=-1).values


def decode_prior(module: VAE, eps: torch.Tensor) -> object:
    """p(x | z) for the draws ``eps`` taken as draws of the prior, for all rows.

    Decoded once, it serves every batch of rows through the ``prior``
    argument of :func:`marginal_surprisals` and :func:`rarest_value`.
    """
    if eps.dim() != 3 or eps.shape[1] != 1:
        raise ValueError(
            "rarest_value takes draws of the prior shared by all rows: eps of "
            f"shape (n_draws, 1, latent_dim), got {tuple(eps.shape)}."
        )
    z = eps.reshape(eps.shape[0], 1, 1, eps.shape[-1])
    return module.decode(z.expand(eps.shape[0], module.n_members, 1, eps.shape[-1]))


def marginal_surprisals(
    module: VAE, x: torch.Tensor | Rows, eps: torch.Tensor, *, prior: object = None
) -> torch.Tensor:
    """Each cell's surprisal under its column's marginal, ``-log p(x_j)``.

    The terms of :func:`rarest_value`, which takes the largest of a row; the
    per-cell explanation of that score. ``p(x_j) = (1/L) sum_l p(x_j | z_l)``
    over the draws of ``eps`` taken as draws of the prior, pooled over the
    ensemble's members.

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features) or Rows
        Rows to explain.
    eps : torch.Tensor of shape (n_draws, 1, latent_dim)
        Standard normal draws, used as draws of z from the prior.
    prior : optional
        ``decode_prior(module, eps)``, when the caller has decoded the draws
        once for several batches of rows.

    Returns
    -------
    torch.Tensor of shape (n_rows, n_features)
        Higher means the value is rarer in its column; missing cells get NaN.
    """
    rows = as_rows(x)
    if prior is None:
        prior = decode_prior(module, eps)
    log_p = prior.log_prob_features(rows.targets)
    draws = log_p.shape[0] * log_p.shape[1]
    surprisals = math.log(draws) - torch.logsumexp(log_p.flatten(0, 1), dim=0)
    if rows.mask is not None:
        surprisals = surprisals.masked_fill(~rows.mask, math.nan)
    return surprisals


SCORE_METHODS: dict[str, Callable[..., torch.Tensor]] = {
    "elbo": elbo,
    "iwae": iw_elbo,
    "recon_prob": reconstruction_probability,
    "recon_error": reconstruction_error,
    "rarest_value": rarest_value,
}

#: The score methods whose ``eps`` are draws of the prior shared by all rows
#: (decoded once with :func:`decode_prior` and passed on as ``prior``), with
#: more draws than the posterior-based ones need.
FROM_PRIOR: frozenset[str] = frozenset({"rarest_value"})

#: The score methods that add up terms over a row's observed cells, which
#: ``score_per_cell`` divides by their number (``rarest_value`` is one cell's).
SUMMED_OVER_CELLS: frozenset[str] = frozenset(SCORE_METHODS) - FROM_PRIOR

#: Each score method's per-cell terms, what ``score_features`` explains a row
#: by: the cells' expected surprisals given the row, or for ``rarest_value``
#: their surprisals under the columns' marginals.
CELL_TERMS: dict[str, Callable[..., torch.Tensor]] = {
    name: marginal_surprisals if name in FROM_PRIOR else feature_contributions
    for name in SCORE_METHODS
}
