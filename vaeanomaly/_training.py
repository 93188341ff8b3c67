"""Minibatch training of a VAE by maximising the ELBO, with early stopping.

The estimator owns the data and the fitted state; this module owns the loop:
one method per training step, one per evaluation, and the epoch loop that
keeps the best weights seen on the validation rows.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from vaeanomaly._gradients import ElboGradient
from vaeanomaly._model import VAE, Rows
from vaeanomaly.exceptions import TrainingError
from vaeanomaly.scoring import member_elbo

__all__ = [
    "BASE_BATCH_SIZE",
    "BASE_MIN_STEPS",
    "LIKELIHOOD_LR_FACTOR",
    "MAX_EPOCH_ROWS",
    "FlatAdam",
    "TrainingConfig",
    "Trainer",
    "auto_batch_size",
    "auto_min_steps",
    "flatten_parameters",
    "release_parameters",
    "scaled_learning_rate",
]

#: Most rows in one epoch. On larger tables an epoch is a slice of a pass over
#: the rows (the next epoch goes on where it stopped), so the validation check
#: and early stopping come as often as on a 128,000-row table, instead of
#: after up to millions of rows, whatever the batch size.
MAX_EPOCH_ROWS = 128_000

#: The batch size the base learning rate (1e-3) belongs to, and the smallest
#: batch ``batch_size="auto"`` picks.
BASE_BATCH_SIZE = 128

#: Fewest optimizer steps of an epoch with ``batch_size="auto"``.
AUTO_STEPS_PER_EPOCH = 2

#: The largest batch ``batch_size="auto"`` picks. Past about a thousand rows a
#: step of these networks makes little more progress: at 4,096 the fits of
#: the categorical tables stopped at ``min_steps`` with the model still
#: learning (chess, seed 0: AUROC 0.57 after 355 steps; 0.70 at 1,024).
MAX_AUTO_BATCH_SIZE = 1024

#: Exponent of the learning rate's growth with the batch (see
#: :func:`scaled_learning_rate`).
LR_BATCH_EXPONENT = 0.5

#: Steps of :data:`BASE_BATCH_SIZE` rows before early stopping may stop.
BASE_MIN_STEPS = 2000

#: How ``min_steps="auto"`` shrinks with the batch (see :func:`auto_min_steps`).
MIN_STEPS_EXPONENT = 0.5


def auto_batch_size(n_rows: int) -> int:
    """Return the batch size for ``n_rows`` training rows: two steps an epoch or more.

    A step of a small network costs about the same at 128 rows as at 1,024:
    framework overhead, not arithmetic, sets its time. So the batch grows
    with the table, as the largest power of two up to half the rows, between
    :data:`BASE_BATCH_SIZE` and :data:`MAX_AUTO_BATCH_SIZE`.

    Parameters
    ----------
    n_rows : int
        Training rows.

    Returns
    -------
    int
    """
    target = n_rows / AUTO_STEPS_PER_EPOCH
    power = 2 ** math.floor(math.log2(max(target, 1.0)))
    return int(min(MAX_AUTO_BATCH_SIZE, max(BASE_BATCH_SIZE, power)))


def auto_min_steps(batch_size: int) -> int:
    """Return the steps before early stopping may stop: ``2000 / sqrt(b / 128)``.

    With the learning rate of :func:`scaled_learning_rate`, a step of ``b``
    rows moves the weights about ``sqrt(b / 128)`` times as far as a step of
    128 rows, so this many steps make about the progress of 2000 steps of
    128 rows.

    Parameters
    ----------
    batch_size : int
        Rows per step.

    Returns
    -------
    int
    """
    ratio = max(batch_size, 1) / BASE_BATCH_SIZE
    return math.ceil(BASE_MIN_STEPS / ratio**MIN_STEPS_EXPONENT)


def scaled_learning_rate(batch_size: int, base: float = 1e-3) -> float:
    """Adam's step size for ``batch_size``: ``base * sqrt(batch / 128)``.

    A larger batch averages away gradient noise, so a step can be longer.
    The square-root rule is the usual one for Adam; on these networks it
    held the quality of 128-row batches on the ADBench development sets
    (benchmarks/decisions/batch-size-and-learning-rate.md).

    Parameters
    ----------
    batch_size : int
        Rows per step.
    base : float, default=1e-3
        The rate at :data:`BASE_BATCH_SIZE` rows.

    Returns
    -------
    float
    """
    return base * (batch_size / BASE_BATCH_SIZE) ** LR_BATCH_EXPONENT


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of the training loop (see ``VAEAnomalyDetector`` for each)."""

    max_epochs: int
    batch_size: int
    learning_rate: float
    patience: int | None
    min_steps: int
    beta: float
    kl_warmup: int
    n_train_draws: int
    clip_grad_norm: float | None
    verbose: int
    max_steps: int | None = None


#: How many times the base learning rate the likelihood's own parameters get
#: (the per-column scales of ``student_t_column`` and ``gaussian_column``).
#: Adam moves each parameter by about the learning rate per step, whatever its
#: gradient; a column's log scale must travel from 0 (unit variance) to the
#: log of its residual noise, often -2 to -4, which took thousands of steps at
#: 1e-3 and set the length of training. Network weights need only small moves.
LIKELIHOOD_LR_FACTOR = 10.0


def flatten_parameters(module: torch.nn.Module) -> torch.Tensor:
    """Move the module's parameters into one flat buffer, their gradients into another.

    Each parameter becomes a view of the returned buffer, and its ``grad`` a
    view of the buffer's ``grad``, which autograd adds into in place. Adam,
    the gradient clipping and the zeroing of gradients then each run once
    over one tensor instead of once per layer: on the small networks of
    tabular data, ``torch.optim.Adam`` and ``clip_grad_norm_`` spent about a
    fifth of a training step of 128 rows on per-call and per-tensor work.
    Values are unchanged.

    Returns
    -------
    torch.Tensor
        The flat buffer of the parameters (in ``module.parameters()`` order),
        with ``grad`` set to the flat buffer of their gradients.
    """
    params = list(module.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    grad = torch.zeros_like(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.data = flat[offset : offset + n].view_as(p)
        p.grad = grad[offset : offset + n].view_as(p)
        offset += n
    flat.grad = grad
    return flat


def release_parameters(module: torch.nn.Module) -> None:
    """Undo :func:`flatten_parameters`: each parameter gets its own storage again.

    The module then pickles and saves as one never trained does (a view of a
    shared buffer pickles with that buffer), and holds no gradients.
    """
    for p in module.parameters():
        p.data = p.data.clone()
        p.grad = None


class FlatAdam:
    """Adam (Kingma & Ba, 2015) on one flat buffer, with a step size per element.

    The update of ``torch.optim.Adam`` (no weight decay, no AMSGrad) in nine
    operations on the whole buffer. The likelihood's own
    parameters take :data:`LIKELIHOOD_LR_FACTOR` times the network's step
    (``torch.optim.Adam`` needed two parameter groups for that), so one
    buffer holds every parameter.

    Parameters
    ----------
    module : VAE
        The model; its parameters are flattened (see
        :func:`flatten_parameters`).
    learning_rate : float
        The network's step size.
    betas : tuple of float, default=(0.9, 0.999)
        Decay rates of the gradient's running mean and mean square.
    eps : float, default=1e-8
        Added to the root mean square of the gradient.

    Attributes
    ----------
    params : torch.Tensor
        The flat buffer of the parameters, its ``grad`` that of the gradients.
    """

    def __init__(
        self,
        module: VAE,
        learning_rate: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        own = {id(p) for p in module.likelihood.parameters()}
        self.step_sizes = torch.cat(
            [
                torch.full(
                    (p.numel(),),
                    learning_rate * (LIKELIHOOD_LR_FACTOR if id(p) in own else 1.0),
                    device=p.device,
                    dtype=p.dtype,
                )
                for p in module.parameters()
            ]
        )
        self.params = flatten_parameters(module)
        self.betas = betas
        self.eps = eps
        self.n_steps = 0
        self._mean = torch.zeros_like(self.params)
        self._square = torch.zeros_like(self.params)

    @torch.no_grad()
    def step(self) -> None:
        """Move the parameters one Adam step along their gradient."""
        beta1, beta2 = self.betas
        self.n_steps += 1
        grad = self.params.grad
        self._mean.lerp_(grad, 1.0 - beta1)
        self._square.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
        root_mean_square = self._square.sqrt().div_(
            math.sqrt(1.0 - beta2**self.n_steps)
        )
        update = self._mean.mul(self.step_sizes).div_(root_mean_square.add_(self.eps))
        self.params.sub_(update, alpha=1.0 / (1.0 - beta1**self.n_steps))

    @torch.no_grad()
    def clip_grad_norm(self, max_norm: float) -> None:
        """Scale the gradient down to norm ``max_norm`` when it is longer.

        As ``torch.nn.utils.clip_grad_norm_``, without a host sync.
        """
        grad = self.params.grad
        norm = torch.linalg.vector_norm(grad)
        grad.mul_(torch.clamp(max_norm / (norm + 1e-6), max=1.0))

    def zero_grad(self) -> None:
        """Set the gradient to zero (in place: the layers' grads are its views)."""
        self.params.grad.zero_()


def _batch_bounds(start: int, n_rows: int, batch_size: int) -> list[tuple[int, int]]:
    """Split ``n_rows`` rows from ``start`` into batches of about ``batch_size``.

    There are ``ceil(n_rows / batch_size)`` batches, as with batches of
    ``batch_size`` and a remainder, but of equal size within one row: no
    small last batch whose noisy gradient counts as much as a full one.
    """
    n_batches = max(1, math.ceil(n_rows / batch_size))
    edges = [start + (n_rows * k) // n_batches for k in range(n_batches + 1)]
    return list(zip(edges[:-1], edges[1:], strict=False))


class Trainer:
    """Train a :class:`~vaeanomaly._model.VAE` with Adam on tensors in memory.

    Parameters
    ----------
    module : VAE
        The model, already on its device.
    config : TrainingConfig
        Loop settings.

    Attributes
    ----------
    history : list of dict
        One entry per epoch: ``epoch``, ``train_loss``, ``valid_loss``
        (``None`` without validation rows), ``beta``, ``rows`` (rows trained
        on in the epoch) and ``dur`` (seconds).
        Losses are the negative ELBO per row, in nats (the mean over the
        ensemble members).
    best_epoch : int
        The latest epoch whose weights a member kept (each member keeps the
        weights of its own best epoch).
    stopped_early : bool
        Whether patience ran out before ``max_epochs``.
    """

    def __init__(self, module: VAE, config: TrainingConfig) -> None:
        self.module = module
        self.config = config
        self.optimizer = FlatAdam(module, config.learning_rate)
        # The loss's gradient by hand where the model allows (see
        # vaeanomaly._gradients), else autograd.
        self._gradient = (
            ElboGradient(module)
            if ElboGradient.supports(module, config.n_train_draws)
            else None
        )
        # The live tensors of the state (they share the parameters' storage),
        # read on every improvement without walking the module tree again.
        self._state = module.state_dict()
        self.history: list[dict] = []
        self.best_epoch = 0
        self.n_steps = 0
        self.stopped_early = False

    def beta_at(self, epoch: int) -> float:
        """KL weight at ``epoch`` (1-based), ramped up over ``kl_warmup`` epochs."""
        if self.config.kl_warmup <= 0:
            return self.config.beta
        return self.config.beta * min(1.0, epoch / self.config.kl_warmup)

    def train_step(self, x: Rows, beta: float) -> torch.Tensor:
        """One Adam step on a minibatch; return each member's mean negative ELBO.

        The module must be in training mode (``fit`` sets it).

        Missing cells (False in ``x.mask``) are left out of the likelihood
        term, as in Donut's modified ELBO: the model learns from what each row
        has instead of from imputed values.

        Each ensemble member draws its own noise, and the loss is the sum of
        the members' mean negative ELBOs, so each member's gradient is the one
        it would get alone.

        Returns
        -------
        torch.Tensor of shape (n_members,)
            Detached losses.
        """
        module = self.module
        eps = torch.randn(
            (self.config.n_train_draws, module.n_members, x.n_rows, module.latent_dim),
            device=x.targets.device,
        )
        if self._gradient is not None:
            losses = self._gradient(x, eps, beta)  # writes every gradient
        else:
            losses = -member_elbo(module, x, eps, beta=beta).mean(dim=-1)
            self.optimizer.zero_grad()
            losses.sum().backward()
        if self.config.clip_grad_norm is not None:
            self.optimizer.clip_grad_norm(self.config.clip_grad_norm)
        self.optimizer.step()
        return losses.detach()

    @torch.inference_mode()
    def eval_step(self, x: Rows, eps: torch.Tensor) -> torch.Tensor:
        """Each member's mean negative ELBO of ``x``, fixed noise ``eps``, beta = 1.

        Returns
        -------
        torch.Tensor of shape (n_members,)
        """
        total = torch.zeros(self.module.n_members, dtype=torch.float64)
        for start in range(0, x.n_rows, 4096):
            batch = x.take(slice(start, start + 4096))
            rows_eps = eps[..., start : start + 4096, :]
            total += -member_elbo(self.module, batch, rows_eps).sum(-1).cpu().double()
        return total / x.n_rows

    def fit(
        self,
        x_train: Rows,
        x_valid: Rows | None,
        callback: Callable[[dict], None] | None = None,
    ) -> None:
        """Run the epoch loop, keeping each member's weights of its best epoch.

        The monitored loss is the validation negative ELBO when there are
        validation rows, else the training loss, per ensemble member: each
        member keeps the weights of its own best epoch, and training stops
        when every member has gone ``patience`` epochs without improving, as
        it would alone. During KL warm-up, and before ``min_steps`` optimizer
        steps, the best weights are tracked but patience does not run out.
        With ``max_steps``, training also ends after the epoch in which the
        optimizer reaches that many steps. The history records the members'
        mean losses. A trainer fits once: at the end the parameters leave the
        optimizer's flat buffer (see :func:`release_parameters`).
        """
        cfg = self.config
        n_rows = x_train.n_rows
        n_members = self.module.n_members
        device = x_train.targets.device
        eps_valid = None
        if x_valid is not None:
            eps_valid = torch.randn(
                (1, n_members, x_valid.n_rows, self.module.latent_dim), device=device
            )
        best_loss = torch.full((n_members,), math.inf, dtype=torch.float64)
        best_epoch = torch.zeros(n_members, dtype=torch.long)
        best_state = copy.deepcopy(self.module.state_dict())
        # The VAE has no layer whose behaviour depends on the mode (no dropout,
        # no batch norm), so the mode is set once: switching it walks the
        # module tree, which on epochs of two steps cost 5% of a fit.
        self.module.train()
        rows_per_epoch = min(n_rows, max(MAX_EPOCH_ROWS, cfg.batch_size))
        order, position = None, n_rows  # "pass used up": the first epoch shuffles
        for epoch in range(1, cfg.max_epochs + 1):
            start_time = time.perf_counter()
            beta = self.beta_at(epoch)
            if position + rows_per_epoch > n_rows:
                order, position = torch.randperm(n_rows, device=device), 0
            # Summed on the device, read once per epoch: no sync per step.
            weighted = torch.zeros(n_members, dtype=torch.float64, device=device)
            for start, stop in _batch_bounds(position, rows_per_epoch, cfg.batch_size):
                batch = x_train.take(order[start:stop])
                weighted += self.train_step(batch, beta).double() * batch.n_rows
                self.n_steps += 1
            position += rows_per_epoch
            train_losses = weighted.cpu() / rows_per_epoch
            valid_losses = (
                None if x_valid is None else self.eval_step(x_valid, eps_valid)
            )
            monitored = train_losses if valid_losses is None else valid_losses
            record = {
                "epoch": epoch,
                "train_loss": train_losses.mean().item(),
                "valid_loss": None
                if valid_losses is None
                else valid_losses.mean().item(),
                "beta": beta,
                "rows": rows_per_epoch,
                "dur": time.perf_counter() - start_time,
            }
            self.history.append(record)
            self._announce(record, callback)
            _check_finite(monitored, epoch, cfg.learning_rate)
            improved = monitored < best_loss
            if improved.any():
                best_loss = torch.where(improved, monitored, best_loss)
                best_epoch[improved] = epoch
                self._keep_members(best_state, improved)
            self.best_epoch = int(best_epoch.max())
            if self._patience_ran_out(epoch, best_epoch):
                self.stopped_early = True
                break
            if cfg.max_steps is not None and self.n_steps >= cfg.max_steps:
                break
        self.module.load_state_dict(best_state)
        self.module.eval()
        release_parameters(self.module)

    def _announce(self, record: dict, callback: Callable[[dict], None] | None) -> None:
        """Print an epoch's record (``verbose``) and pass it to ``callback``."""
        if self.config.verbose > 0:
            valid_text = (
                ""
                if record["valid_loss"] is None
                else f"  valid_loss={record['valid_loss']:.4f}"
            )
            print(
                f"epoch {record['epoch']:4d}  train_loss={record['train_loss']:.4f}"
                f"{valid_text}  dur={record['dur']:.2f}s",
                file=sys.stderr,
            )
        if callback is not None:
            callback(record)

    def _patience_ran_out(self, epoch: int, best_epoch: torch.Tensor) -> bool:
        """Whether all members waited ``patience`` epochs, past warm-up, min_steps."""
        cfg = self.config
        waited = epoch - torch.clamp(best_epoch, min=cfg.kl_warmup)
        return (
            cfg.patience is not None
            and epoch > cfg.kl_warmup
            and bool((waited >= cfg.patience).all())
            and self.n_steps >= cfg.min_steps
        )

    def _keep_members(self, best_state: dict, members: torch.Tensor) -> None:
        """Copy the current weights of ``members`` (a bool mask) into ``best_state``.

        Every tensor of the state has the member axis first (see
        :class:`~vaeanomaly._model.MemberLinear`).
        """
        index = members.nonzero().flatten().to(next(iter(best_state.values())).device)
        with torch.no_grad():
            for name, value in self._state.items():
                best_state[name][index] = value[index]


def _check_finite(monitored: torch.Tensor, epoch: int, learning_rate: float) -> None:
    """Raise a TrainingError when the monitored loss is no longer finite."""
    if not torch.isfinite(monitored).all():
        raise TrainingError(
            f"The training loss became {monitored.max().item()} in epoch "
            f"{epoch}: the optimisation diverged. Lower learning_rate "
            f"(now {learning_rate:g}), and keep standardize=True (or "
            "scale the columns yourself) so that no column is huge."
        )
