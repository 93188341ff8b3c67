"""The PyTorch variational autoencoder: encoder, decoder and their pairing.

Every size comes from arguments. The observation model p(x | z) is passed in
(see :mod:`vaeanomaly.likelihoods`), so this module knows nothing about
column types.

A :class:`VAE` holds ``n_members`` independent VAEs side by side (an
ensemble): every layer is a :class:`MemberLinear`, which applies each
member's weights to the same rows in one batched matrix product. Members
share nothing but their input, so training them together is training each
alone, at the cost of one network's per-step overhead; on the small networks
of tabular data that overhead, not the arithmetic, sets a step's time. Every
output carries a member axis just before the rows.

For the same reason the layers call each other's ``forward`` directly
instead of through ``nn.Module.__call__``, whose hook machinery cost about
a twentieth of a training step: hooks registered on the inner layers are
not run (the VAE registers none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn
from torch.distributions import Distribution, Independent, Normal
from torch.nn.functional import softplus

__all__ = [
    "VAE",
    "Decoder",
    "Encoder",
    "MemberLinear",
    "Rows",
    "VAEOutput",
    "as_rows",
]

#: Floor of the posterior standard deviation.
MIN_POSTERIOR_SCALE = 1e-4


class MemberLinear(nn.Module):
    """One affine layer per ensemble member, applied in one batched product.

    Parameters
    ----------
    n_members : int
        Number of members.
    n_in, n_out : int
        Input and output widths.

    Notes
    -----
    Inputs of shape ``(n_rows, n_in)`` (the same rows for every member) give
    ``(n_members, n_rows, n_out)``; inputs of shape ``(..., n_members,
    n_rows, n_in)`` keep their leading axes. Each member is initialised as
    ``torch.nn.Linear`` would be: uniform on +-1/sqrt(n_in).
    """

    def __init__(self, n_members: int, n_in: int, n_out: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.weight = nn.Parameter(
            torch.empty(n_members, n_in, n_out).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(
            torch.empty(n_members, 1, n_out).uniform_(-bound, bound)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x @ weight + bias`` for each member.

        Inputs of shape ``(n_members, n_rows, n_in)``, as a training step
        gives them, take one fused ``baddbmm`` (product and bias in one
        kernel, forward and backward); other shapes broadcast.
        """
        if x.dim() == 3 and x.shape[0] == self.weight.shape[0]:
            return torch.baddbmm(self.bias, x, self.weight)
        return torch.matmul(x, self.weight) + self.bias


class _Layers(nn.Sequential):
    """``nn.Sequential`` whose layers are run by their ``forward`` directly.

    See the module docstring: the hook machinery of ``nn.Module.__call__``
    is skipped.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the layers in order."""
        for layer in self._modules.values():
            x = layer.forward(x)
        return x


def _mlp(n_members: int, sizes: Sequence[int]) -> nn.Sequential:
    """Member layers with a ReLU after each; ``sizes`` lists input then widths."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False):
        layers += [MemberLinear(n_members, n_in, n_out), nn.ReLU(inplace=True)]
    return _Layers(*layers)


class Encoder(nn.Module):
    """Map a row to q(z | x), a diagonal Gaussian.

    Parameters
    ----------
    n_inputs : int
        Width of the input rows.
    hidden_dims : sequence of int
        Widths of the hidden layers.
    latent_dim : int
        Dimension of z.
    n_members : int, default=1
        Number of ensemble members.
    """

    def __init__(
        self,
        n_inputs: int,
        hidden_dims: Sequence[int],
        latent_dim: int,
        n_members: int = 1,
    ) -> None:
        super().__init__()
        self.body = _mlp(n_members, [n_inputs, *hidden_dims])
        width = hidden_dims[-1] if hidden_dims else n_inputs
        self.loc = MemberLinear(n_members, width, latent_dim)
        self.raw_scale = MemberLinear(n_members, width, latent_dim)

    def forward(self, x: torch.Tensor) -> Distribution:
        """Return ``q_z = Independent(Normal(loc, scale), 1)``.

        Its batch shape is ``(n_members, n_rows)``.
        """
        h = self.body.forward(x)
        scale = softplus(self.raw_scale.forward(h)) + MIN_POSTERIOR_SCALE
        loc = self.loc.forward(h)
        return Independent(Normal(loc, scale, validate_args=False), 1)


class Decoder(nn.Module):
    """Map z to the parameters of the likelihood p(x | z).

    Parameters
    ----------
    latent_dim : int
        Dimension of z.
    hidden_dims : sequence of int
        Widths of the hidden layers, from z outwards.
    n_params : int
        Number of likelihood parameters to predict per row.
    n_members : int, default=1
        Number of ensemble members.
    """

    def __init__(
        self,
        latent_dim: int,
        hidden_dims: Sequence[int],
        n_params: int,
        n_members: int = 1,
    ) -> None:
        super().__init__()
        self.body = _mlp(n_members, [latent_dim, *hidden_dims])
        width = hidden_dims[-1] if hidden_dims else latent_dim
        self.params = MemberLinear(n_members, width, n_params)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Return the likelihood parameters for ``z``.

        ``z`` has shape ``(..., n_members, n_rows, latent_dim)``; the result
        ``(..., n_members, n_rows, n_params)``.
        """
        if z.dim() == 4 and z.shape[0] == 1:  # one draw: member-batched layers
            return self.params.forward(self.body.forward(z[0])).unsqueeze(0)
        return self.params.forward(self.body.forward(z))


class Rows(NamedTuple):
    """A batch of rows as the model reads them.

    For a plain numeric table without gaps, ``inputs`` and ``targets`` are the
    same tensor and ``mask`` is ``None``. Categorical columns enter the
    encoder one-hot (so ``inputs`` is wider) while ``targets`` hold their level
    codes; missing cells enter the encoder as zeros (plus an indicator) and
    are False in ``mask``, so their likelihood terms are left out.

    Attributes
    ----------
    inputs : torch.Tensor of shape (n_rows, n_inputs)
        What the encoder reads.
    targets : torch.Tensor of shape (n_rows, n_features)
        What p(x | z) scores, one value per column.
    mask : torch.Tensor of shape (n_rows, n_features) or None
        True where a cell was observed; ``None`` when all were.
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor | None = None

    def take(self, index: torch.Tensor | slice) -> Rows:
        """Return the rows at ``index`` (a slice or an index tensor)."""

        def pick(values: torch.Tensor) -> torch.Tensor:
            if isinstance(index, slice):
                return values[index]
            # index_select, not values[index]: advanced indexing copies the
            # same rows two to five times slower (a batch is taken every step).
            return values.index_select(0, index)

        mask = None if self.mask is None else pick(self.mask)
        inputs = pick(self.inputs)
        same = self.targets is self.inputs
        return Rows(inputs, inputs if same else pick(self.targets), mask)

    @property
    def n_rows(self) -> int:
        """Number of rows in the batch."""
        return self.targets.shape[0]


def as_rows(x: torch.Tensor | Rows) -> Rows:
    """Return ``x`` as :class:`Rows`; a plain tensor is both input and target."""
    return x if isinstance(x, Rows) else Rows(x, x, None)


class VAEOutput(NamedTuple):
    """What one pass through the VAE gives."""

    q_z: Distribution
    z: torch.Tensor
    p_x: object


class VAE(nn.Module):
    """Variational autoencoder with a pluggable observation model.

    Parameters
    ----------
    n_inputs : int
        Width of the encoder's input rows (see :class:`Rows`).
    latent_dim : int
        Dimension of z.
    hidden_dims : sequence of int
        Encoder widths; the decoder mirrors them.
    likelihood : torch.nn.Module
        Maps decoder outputs to p(x | z); it must have an ``n_params``
        attribute, e.g. :class:`vaeanomaly.likelihoods.FactorizedLikelihood`
        (built with the same ``n_members``).
    n_members : int, default=1
        Number of independent VAEs held side by side (see the module
        docstring).
    """

    def __init__(
        self,
        n_inputs: int,
        latent_dim: int,
        hidden_dims: Sequence[int],
        likelihood: nn.Module,
        n_members: int = 1,
    ) -> None:
        super().__init__()
        self.n_inputs = n_inputs
        self.latent_dim = latent_dim
        self.n_members = n_members
        self.encoder = Encoder(n_inputs, hidden_dims, latent_dim, n_members)
        self.decoder = Decoder(
            latent_dim, tuple(reversed(hidden_dims)), likelihood.n_params, n_members
        )
        self.likelihood = likelihood

    def encode(self, x: torch.Tensor) -> Distribution:
        """Return q(z | x)."""
        return self.encoder.forward(x)

    def decode(self, z: torch.Tensor):
        """Return p(x | z) for latent codes of shape ``(..., latent_dim)``."""
        return self.likelihood.forward(self.decoder.forward(z))

    def prior(self, like: torch.Tensor) -> Distribution:
        """Return p(z) = N(0, I), on the device and dtype of ``like``."""
        zeros = like.new_zeros(self.latent_dim)
        return Independent(
            Normal(zeros, torch.ones_like(zeros), validate_args=False), 1
        )

    @staticmethod
    def kl_to_prior(q_z: Distribution) -> torch.Tensor:
        """KL(q(z | x) || N(0, I)) of each row, in closed form.

        ``0.5 * sum(loc**2 + scale**2 - 1) - sum(log scale)``: the same value
        as ``torch.distributions.kl_divergence`` against :meth:`prior`, in
        about half the tensor operations, which counts in a training step of a
        small network.
        """
        loc, scale = q_z.base_dist.loc, q_z.base_dist.scale
        return 0.5 * (loc.square() + scale.square() - 1.0).sum(-1) - scale.log().sum(-1)

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> VAEOutput:
        """Encode, draw z by reparameterisation, and decode.

        Parameters
        ----------
        x : torch.Tensor of shape (n_rows, n_inputs)
            Encoder input rows (``Rows.inputs``).
        eps : torch.Tensor of shape (n_draws, [n_members,] n_rows or 1, latent_dim)
            Standard normal noise; ``z = loc + scale * eps``. Without the
            member axis, every member gets the same draws.

        Returns
        -------
        VAEOutput
            ``q_z`` over members and rows, ``z`` of shape ``(n_draws,
            n_members, n_rows, latent_dim)`` and ``p_x`` over draws, members
            and rows.
        """
        if eps.dim() == 3:
            eps = eps.unsqueeze(1)
        q_z = self.encode(x)
        z = q_z.base_dist.loc + q_z.base_dist.scale * eps
        return VAEOutput(q_z=q_z, z=z, p_x=self.decode(z))
