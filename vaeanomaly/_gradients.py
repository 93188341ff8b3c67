"""The training loss and its gradient written out by hand, for the common models.

Autograd records some fifty operations in a training step and runs each
backward node through its engine; on the small networks of tabular data that
bookkeeping, not the arithmetic, set most of a step's time. For a model whose
every column has a Student-t or Gaussian head with a learned scale per column
(``"student_t_column"``, ``"gaussian_column"``), a Bernoulli head or a
categorical head, trained with one draw of z per step, :class:`ElboGradient`
computes the negative ELBO of a batch and its gradient with respect to every
parameter in one forward and one backward sweep of plain tensor operations,
and writes the gradient into the parameters' ``grad``; missing cells (False in
the batch's mask) are left out of the likelihood, as in Donut's modified ELBO.
Any other model trains through autograd. Both give the same gradient, to
rounding (``tests/test_gradients.py``).

The model, for one member (every product is batched over the members)::

    h_0 = inputs,  h_k = relu(h_{k-1} W_k + b_k)       encoder body
    mu = h W_mu + b_mu,  s = softplus(h W_s + b_s) + s_min
    z = mu + s * eps                                    reparameterisation
    g_0 = z,  g_k = relu(g_{k-1} V_k + c_k)             decoder body
    theta = g V + c                                     likelihood parameters
    loss = -mean_rows(sum_observed log p(x | theta) - beta * KL(N(mu, s^2) || N(0, I)))
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import softplus

from vaeanomaly._model import MIN_POSTERIOR_SCALE, VAE, MemberLinear, Rows
from vaeanomaly.likelihoods import (
    _LOG_SQRT_2PI,
    STUDENT_T_DF,
    BernoulliHead,
    CategoricalHead,
    ColumnGaussianHead,
    ColumnStudentTHead,
    FactorizedLikelihood,
    student_t_log_norm,
)

__all__ = ["ElboGradient"]

_STUDENT_T_LOG_NORM = student_t_log_norm(STUDENT_T_DF)


def _linear_layers(body: nn.Module) -> list[MemberLinear] | None:
    """Return the member layers of a body of layers and ReLUs in turn, else None."""
    layers = list(body)
    linear, activations = layers[0::2], layers[1::2]
    if len(linear) != len(activations):
        return None
    if not all(isinstance(layer, MemberLinear) for layer in linear):
        return None
    if not all(isinstance(layer, nn.ReLU) for layer in activations):
        return None
    return linear


def _relu_backward(grad: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """Return the gradient through a ReLU from its output (``grad`` where > 0).

    ATen's own kernel for it (what autograd runs): one pass instead of a
    comparison, a conversion and a product.
    """
    return torch.ops.aten.threshold_backward(grad, output, 0.0)


def _backward_affine(
    x: torch.Tensor, layer: MemberLinear, grad_out: torch.Tensor, need_input: bool
) -> torch.Tensor | None:
    """Write the layer's weight and bias gradients; return the input's gradient."""
    if x.dim() == 3:
        torch.bmm(x.transpose(1, 2), grad_out, out=layer.weight.grad)
    else:
        torch.matmul(x.t(), grad_out, out=layer.weight.grad)
    torch.sum(grad_out, dim=1, keepdim=True, out=layer.bias.grad)
    if not need_input:
        return None
    return torch.bmm(grad_out, layer.weight.transpose(1, 2))


class ElboGradient:
    """Negative ELBO of a batch and its gradient, without autograd.

    Parameters
    ----------
    module : VAE
        The model; :meth:`supports` must hold for it. Its parameters' ``grad``
        must be tensors (the trainer's flat buffer): they are overwritten.

    Notes
    -----
    The loss is that of ``Trainer.train_step``: the sum over ensemble members
    of each member's mean negative ELBO over the rows, one draw of z per row,
    the KL term weighted by ``beta``.
    """

    def __init__(self, module: VAE) -> None:
        self.module = module
        self.encoder_layers = _linear_layers(module.encoder.body)
        self.decoder_layers = _linear_layers(module.decoder.body)
        self.groups = module.likelihood.groups()

    @staticmethod
    def supports(module: VAE, n_train_draws: int) -> bool:
        """Whether the gradient of ``module``'s loss can be computed here."""
        heads = (ColumnStudentTHead, ColumnGaussianHead, BernoulliHead, CategoricalHead)
        return (
            n_train_draws == 1
            and isinstance(module, VAE)
            and isinstance(module.likelihood, FactorizedLikelihood)
            and _linear_layers(module.encoder.body) is not None
            and _linear_layers(module.decoder.body) is not None
            and all(type(head) in heads for head in module.likelihood.heads.values())
        )

    @torch.no_grad()
    def __call__(self, x: Rows, eps: torch.Tensor, beta: float) -> torch.Tensor:
        """Write the gradient of the batch's loss; return each member's loss.

        Parameters
        ----------
        x : Rows
            The batch; its missing cells (False in ``x.mask``) are left out
            of the likelihood, as in ``member_elbo``.
        eps : torch.Tensor of shape (1, n_members, n_rows, latent_dim)
            Standard normal noise.
        beta : float
            Weight of the KL term.

        Returns
        -------
        torch.Tensor of shape (n_members,)
            Each member's mean negative ELBO.
        """
        module = self.module
        encoder, decoder = module.encoder, module.decoder
        weight = 1.0 / x.n_rows
        noise = eps[0]

        encoder_inputs = [x.inputs]
        for layer in self.encoder_layers:
            encoder_inputs.append(torch.relu_(layer.forward(encoder_inputs[-1])))
        hidden = encoder_inputs.pop()
        loc = encoder.loc.forward(hidden)
        raw_scale = encoder.raw_scale.forward(hidden)
        scale = softplus(raw_scale) + MIN_POSTERIOR_SCALE
        z = loc + scale * noise
        decoder_inputs = [z]
        for layer in self.decoder_layers:
            decoder_inputs.append(torch.relu_(layer.forward(decoder_inputs[-1])))
        code = decoder_inputs.pop()
        params = decoder.params.forward(code)

        log_px, grad_params = self._likelihood(params, x.targets, x.mask, weight)
        kl = 0.5 * (loc.square() + scale.square() - 1.0).sum(-1) - scale.log().sum(-1)
        losses = -(log_px - beta * kl).mean(-1)

        grad = _backward_affine(code, decoder.params, grad_params, True)
        for layer, layer_input, output in zip(
            reversed(self.decoder_layers),
            reversed(decoder_inputs),
            reversed([*decoder_inputs, code][1:]),
            strict=True,
        ):
            grad = _backward_affine(
                layer_input, layer, _relu_backward(grad, output), True
            )
        grad_loc = grad + (beta * weight) * loc
        grad_scale = grad * noise + (beta * weight) * (scale - scale.reciprocal())
        grad_raw = grad_scale * torch.sigmoid(raw_scale)
        grad = _backward_affine(hidden, encoder.loc, grad_loc, True)
        grad = grad + _backward_affine(hidden, encoder.raw_scale, grad_raw, True)
        outputs = [*encoder_inputs, hidden][1:]
        for k in reversed(range(len(self.encoder_layers))):
            grad = _backward_affine(
                encoder_inputs[k],
                self.encoder_layers[k],
                _relu_backward(grad, outputs[k]),
                k > 0,
            )
        return losses

    def _likelihood(
        self,
        params: torch.Tensor,
        targets: torch.Tensor,
        mask: torch.Tensor | None,
        weight: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Each row's log-likelihood, and the loss's gradient in ``params``.

        Missing cells (False in ``mask``) add nothing to either. Also writes
        the gradients of the heads' own scales.
        """
        log_px = params.new_zeros(params.shape[:-1])
        grads = []
        chunks = params.split([n for *_, n in self.groups], dim=-1)
        for (head, columns, _), chunk in zip(self.groups, chunks, strict=True):
            values = targets if columns is None else targets.index_select(-1, columns)
            observed = None
            if mask is not None:
                observed = mask if columns is None else mask.index_select(-1, columns)
                observed = observed.to(chunk.dtype)
            row, grad = self._head_terms(head, chunk, values, observed, weight)
            log_px += row
            grads.append(grad)
        grad_params = grads[0] if len(grads) == 1 else torch.cat(grads, dim=-1)
        return log_px, grad_params

    @staticmethod
    def _head_terms(
        head: nn.Module,
        chunk: torch.Tensor,
        values: torch.Tensor,
        observed: torch.Tensor | None,
        weight: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return a head's share of each row's log-likelihood and its outputs' gradient.

        ``observed`` is 1 for observed cells and 0 for missing ones (``None``:
        all observed). Writes the gradient of the head's scales, if it has any.
        """
        if isinstance(head, BernoulliHead):
            cell = values * chunk - softplus(chunk)
            grad = -weight * (values - torch.sigmoid(chunk))
            if observed is None:
                return cell.sum(-1), grad
            return (cell * observed).sum(-1), grad * observed
        if isinstance(head, CategoricalHead):
            # d log p / d logits = one-hot(level) - softmax, per column; a
            # level not seen in training has a fixed probability.
            levels = head.forward(chunk)
            cell = levels.log_prob(values)
            counted = (values >= 0).to(chunk.dtype)
            if observed is not None:
                cell, counted = cell * observed, counted * observed
            probabilities = levels.level_probabilities() * head.per_level(counted)
            hits = levels.indicators(values)
            if observed is not None:
                hits = hits * head.per_level(observed)
            return cell.sum(-1), -weight * (hits - probabilities)
        column_scale = head.column_scale()
        inverse = column_scale.reciprocal()
        standardized = (values - chunk) * inverse
        square = standardized.square()
        if isinstance(head, ColumnStudentTHead):
            df = STUDENT_T_DF
            cell = -0.5 * (df + 1.0) * torch.log1p(square / df)
            cell += _STUDENT_T_LOG_NORM
            pull = (df + 1.0) / (df + square)
            grad_loc = pull * standardized * inverse
            grad_cell_scale = (pull * square - 1.0) * inverse
        else:
            cell = -0.5 * square - _LOG_SQRT_2PI
            grad_loc = standardized * inverse
            grad_cell_scale = (square - 1.0) * inverse
        if observed is None:
            row = cell.sum(-1) - column_scale.log().sum(-1)
        else:
            row = ((cell - column_scale.log()) * observed).sum(-1)
            grad_loc = grad_loc * observed
            grad_cell_scale = grad_cell_scale * observed
        grad_scale = -weight * grad_cell_scale.sum(1, keepdim=True)
        head.raw_scale.grad.copy_(grad_scale * torch.sigmoid(head.raw_scale))
        return row, -weight * grad_loc
