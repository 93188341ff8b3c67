"""Per-row scores of a trained VAE: pure functions, one value per row.

Every function takes the module, a float tensor ``x`` of shape
``(n_rows, n_features)`` and standard normal noise ``eps`` of shape
``(n_draws, 1 or n_rows, latent_dim)``, and returns a tensor of shape
``(n_rows,)`` in which higher means more normal. All draws go through the
decoder together as one batched pass, and averages over draws of
probabilities are taken in log space with ``logsumexp``, so nothing
underflows however unlikely a row is.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.distributions import kl_divergence

from vaeanomaly._model import VAE

__all__ = [
    "SCORE_METHODS",
    "elbo",
    "feature_contributions",
    "iw_elbo",
    "reconstruction_error",
    "reconstruction_probability",
]


def _log_mean_exp(values: torch.Tensor) -> torch.Tensor:
    """Log of the mean of ``exp(values)`` over the draws (dimension 0)."""
    return torch.logsumexp(values, dim=0) - math.log(values.shape[0])


def elbo(
    module: VAE, x: torch.Tensor, eps: torch.Tensor, *, beta: float = 1.0
) -> torch.Tensor:
    """Monte-Carlo evidence lower bound of each row.

    ``mean_l log p(x | z_l) - beta * KL(q(z | x) || p(z))``, with the KL in
    closed form.

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features)
        Rows to score.
    eps : torch.Tensor of shape (n_draws, 1 or n_rows, latent_dim)
        Standard normal noise for the reparameterisation.
    beta : float, default=1.0
        Weight of the KL term (1 gives the true ELBO).

    Returns
    -------
    torch.Tensor of shape (n_rows,)
        The ELBO of each row, a lower bound on log p(x).
    """
    out = module(x, eps)
    log_px = out.p_x.log_prob(x).mean(dim=0)
    kl = kl_divergence(out.q_z, module.prior(x))
    return log_px - beta * kl


def iw_elbo(module: VAE, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Importance-weighted bound on log p(x) (Burda et al., 2016).

    ``logsumexp_l [log p(x | z_l) + log p(z_l) - log q(z_l | x)] - log L``.
    It is tighter than the ELBO and tends to log p(x) as ``L`` grows; with one
    draw it equals the single-sample ELBO.

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features)
        Rows to score.
    eps : torch.Tensor of shape (n_draws, 1 or n_rows, latent_dim)
        Standard normal noise for the reparameterisation.

    Returns
    -------
    torch.Tensor of shape (n_rows,)
    """
    out = module(x, eps)
    log_w = (
        out.p_x.log_prob(x) + module.prior(x).log_prob(out.z) - out.q_z.log_prob(out.z)
    )
    return _log_mean_exp(log_w)


def reconstruction_probability(
    module: VAE, x: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """Reconstruction probability of An & Cho (2015), in log space.

    ``log (1/L) sum_l p(x | z_l)`` with ``z_l`` drawn from q(z | x).

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features)
        Rows to score.
    eps : torch.Tensor of shape (n_draws, 1 or n_rows, latent_dim)
        Standard normal noise for the reparameterisation.

    Returns
    -------
    torch.Tensor of shape (n_rows,)
    """
    out = module(x, eps)
    return _log_mean_exp(out.p_x.log_prob(x))


def reconstruction_error(
    module: VAE, x: torch.Tensor, eps: torch.Tensor | None = None
) -> torch.Tensor:
    """Minus the squared error between a row and its decoded mean.

    The row is decoded from the posterior mean of z, as a plain autoencoder
    would. It is here to compare with squared-error detectors; ``eps`` is
    accepted for a uniform signature and ignored.

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features)
        Rows to score.
    eps : torch.Tensor, optional
        Ignored.

    Returns
    -------
    torch.Tensor of shape (n_rows,)
    """
    q_z = module.encode(x)
    x_hat = module.decode(q_z.mean).mean
    return -((x - x_hat) ** 2).sum(dim=-1)


def feature_contributions(
    module: VAE, x: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """Each cell's share of the anomaly score: ``-E_q[log p(x_j | z)]``.

    Parameters
    ----------
    module : VAE
        The trained model.
    x : torch.Tensor of shape (n_rows, n_features)
        Rows to explain.
    eps : torch.Tensor of shape (n_draws, 1 or n_rows, latent_dim)
        Standard normal noise for the reparameterisation.

    Returns
    -------
    torch.Tensor of shape (n_rows, n_features)
        Higher means the cell is less expected given the rest of its row.
    """
    out = module(x, eps)
    return -out.p_x.log_prob_features(x).mean(dim=0)


SCORE_METHODS: dict[str, Callable[..., torch.Tensor]] = {
    "elbo": elbo,
    "iwae": iw_elbo,
    "recon_prob": reconstruction_probability,
    "recon_error": reconstruction_error,
}
