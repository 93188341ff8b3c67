import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from vaeanomaly.likelihoods import HEADS, FactorizedLikelihood

scipy_stats = pytest.importorskip("scipy.stats")


def test_gaussian_head_log_prob_matches_scipy():
    params = torch.tensor([[0.5, -1.0, 0.3, 2.0]])  # loc (0.5, -1), raw scale
    head = HEADS["gaussian"](2)
    dist = head(params)
    x = torch.tensor([[0.0, 1.0]])
    scale = np.log1p(np.exp([0.3, 2.0])) + head.min_scale
    expected = scipy_stats.norm.logpdf([0.0, 1.0], loc=[0.5, -1.0], scale=scale)
    assert_allclose(dist.base_dist.log_prob(x).numpy()[0], expected, rtol=1e-5)
    assert_allclose(dist.log_prob(x).item(), expected.sum(), rtol=1e-5)


def test_gaussian_scale_has_a_floor():
    head = HEADS["gaussian"](1)
    dist = head(torch.tensor([[0.0, -1e4]]))
    assert dist.base_dist.scale.item() == pytest.approx(head.min_scale)


def test_fixed_gaussian_is_half_squared_error():
    dist = HEADS["gaussian_fixed"](3)(torch.zeros(1, 3))
    x = torch.tensor([[1.0, -2.0, 0.5]])
    expected = -0.5 * (1 + 4 + 0.25) - 1.5 * np.log(2 * np.pi)
    assert_allclose(dist.log_prob(x).item(), expected, rtol=1e-6)


def test_bernoulli_head_matches_scipy():
    logits = torch.tensor([[0.3, -2.0]])
    dist = HEADS["bernoulli"](2)(logits)
    p = 1 / (1 + np.exp(-logits.numpy()[0]))
    expected = scipy_stats.bernoulli.logpmf([1, 0], p)
    assert_allclose(
        dist.base_dist.log_prob(torch.tensor([[1.0, 0.0]])).numpy()[0],
        expected,
        rtol=1e-5,
    )


def test_factorized_likelihood_puts_columns_back_in_order():
    heads = ["gaussian", "bernoulli", "gaussian", "bernoulli"]
    lik = FactorizedLikelihood(heads)
    assert lik.n_params == 2 * 2 + 2
    params = torch.randn(5, lik.n_params, generator=torch.Generator().manual_seed(0))
    x = torch.tensor([[0.1, 1.0, -0.4, 0.0]]).repeat(5, 1)
    p_x = lik(params)
    per_cell = p_x.log_prob_features(x)
    gauss = HEADS["gaussian"](2)(params[:, :4]).base_dist.log_prob(x[:, [0, 2]])
    bern = HEADS["bernoulli"](2)(params[:, 4:]).base_dist.log_prob(x[:, [1, 3]])
    assert_allclose(per_cell[:, [0, 2]].numpy(), gauss.numpy(), rtol=1e-6)
    assert_allclose(per_cell[:, [1, 3]].numpy(), bern.numpy(), rtol=1e-6)
    assert_allclose(p_x.log_prob(x).numpy(), per_cell.sum(-1).numpy(), rtol=1e-6)
    assert p_x.mean.shape == (5, 4)


@pytest.mark.parametrize("name", sorted(HEADS))
def test_single_head_log_prob_sums_features(name):
    lik = FactorizedLikelihood([name] * 3)
    params = torch.randn(4, lik.n_params, generator=torch.Generator().manual_seed(1))
    x = torch.rand(4, 3).round()
    p_x = lik(params)
    assert_allclose(
        p_x.log_prob(x).detach().numpy(),
        p_x.log_prob_features(x).sum(-1).detach().numpy(),
        rtol=1e-6,
    )
