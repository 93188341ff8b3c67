"""The hand-written gradient of the training loss equals autograd's."""

import pytest
import torch
from _trainers import make_trainer

from vaeanomaly._gradients import ElboGradient
from vaeanomaly._model import VAE, Rows, as_rows
from vaeanomaly.likelihoods import FactorizedLikelihood
from vaeanomaly.scoring import member_elbo


def _levels(heads, n_levels):
    """The level count of each categorical column, in table order."""
    return [
        n_levels[j % len(n_levels)] for j, h in enumerate(heads) if h == "categorical"
    ]


def make_module(heads, hidden=(8, 4), n_members=1, latent=2, seed=0, n_levels=(3,)):
    torch.manual_seed(seed)
    levels = _levels(heads, n_levels)
    likelihood = FactorizedLikelihood(heads, n_levels=levels, n_members=n_members)
    n_inputs = len(heads) - len(levels) + sum(levels)
    return VAE(n_inputs, latent, hidden, likelihood, n_members=n_members)


def make_rows(heads, n_rows=50, seed=1, n_levels=(3,)):
    """Rows for ``heads``: categorical columns enter the encoder one-hot."""
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn(n_rows, len(heads), generator=generator)
    inputs = []
    for j, head in enumerate(heads):
        if head == "bernoulli":
            values[:, j] = (values[:, j] > 0.3).float()
        if head == "categorical":
            k = n_levels[j % len(n_levels)]
            codes = torch.randint(0, k, (n_rows,), generator=generator)
            hot = torch.nn.functional.one_hot(codes, k).float()
            values[:, j] = codes.float()
            values[0, j], hot[0] = -1.0, 0.0  # a level not seen in training
            inputs.append(hot)
        else:
            inputs.append(values[:, j : j + 1])
    if "categorical" not in heads:
        return as_rows(values)
    return Rows(torch.cat(inputs, dim=-1), values)


def autograd_gradient(module, x, eps, beta):
    module.zero_grad(set_to_none=True)
    losses = -member_elbo(module, x, eps, beta=beta).mean(dim=-1)
    losses.sum().backward()
    return losses.detach(), {n: p.grad.clone() for n, p in module.named_parameters()}


def hand_gradient(module, x, eps, beta):
    for p in module.parameters():
        p.grad = torch.full_like(p, 123.0)  # overwritten, not added to
    losses = ElboGradient(module)(x, eps, beta)
    return losses, {n: p.grad.clone() for n, p in module.named_parameters()}


CASES = [
    (["student_t_column"] * 4, (8, 4), 1, 1.0),
    (["student_t_column"] * 4, (8, 4), 3, 1.0),
    (["gaussian_column"] * 3, (6,), 2, 0.5),
    (["bernoulli"] * 5, (8, 4), 1, 2.0),
    (["student_t_column", "bernoulli", "gaussian_column", "bernoulli"], (8,), 2, 1.0),
    (["student_t_column"] * 3, (), 1, 1.0),
    (["categorical"] * 4, (8, 4), 1, 1.0),
    (["categorical", "student_t_column", "categorical", "bernoulli"], (8,), 2, 1.0),
]

# Level counts of categorical columns, by table position (column j gets
# LEVELS[j % 4]): widths of 1, 2, 3 and 5 take each path of the head's
# log-normaliser.
LEVELS = (3, 2, 5, 1)


@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize(("heads", "hidden", "n_members", "beta"), CASES)
def test_hand_gradient_equals_autograd(heads, hidden, n_members, beta, missing):
    module = make_module(heads, hidden, n_members, n_levels=LEVELS)
    assert ElboGradient.supports(module, n_train_draws=1)
    # Trained a little, so the scales and weights are not at their start.
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = make_rows(heads, n_levels=LEVELS)
    if missing:  # about a fifth of the cells, and one whole row
        hidden_cells = torch.rand(
            x.targets.shape, generator=torch.Generator().manual_seed(3)
        )
        observed = hidden_cells > 0.2
        observed[1] = False
        x = Rows(x.inputs, torch.where(observed, x.targets, 0.0), observed)
    eps = torch.randn(1, n_members, x.n_rows, module.latent_dim)
    expected_losses, expected = autograd_gradient(module, x, eps, beta)
    losses, got = hand_gradient(module, x, eps, beta)
    torch.testing.assert_close(losses, expected_losses, rtol=1e-5, atol=1e-5)
    assert got.keys() == expected.keys()
    for name in expected:
        assert expected[name].abs().max() > 0, name  # each gradient is exercised
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-6)


def test_models_and_batches_it_does_not_cover_go_through_autograd():
    assert not ElboGradient.supports(make_module(["gaussian"] * 2), 1)
    assert not ElboGradient.supports(make_module(["gaussian_fixed"] * 2), 1)
    assert not ElboGradient.supports(make_module(["student_t_column"] * 2), 2)


def test_a_trainer_takes_the_same_steps_by_either_gradient():
    heads = ["student_t_column"] * 3 + ["bernoulli"]
    x = make_rows(heads, n_rows=64)
    states = []
    for by_hand in (True, False):
        module, trainer = make_trainer(heads, learning_rate=1e-2, clip_grad_norm=1.0)
        assert trainer._gradient is not None
        if not by_hand:
            trainer._gradient = None
        torch.manual_seed(5)
        module.train()
        for _ in range(25):
            trainer.train_step(x, 1.0)
        states.append({k: v.clone() for k, v in module.state_dict().items()})
    for name in states[0]:
        torch.testing.assert_close(
            states[0][name], states[1][name], rtol=1e-4, atol=1e-5
        )
