import pytest
import torch
from numpy.testing import assert_allclose

from vaeanomaly._model import VAE
from vaeanomaly.likelihoods import FactorizedLikelihood


def make_vae(n_features=5, latent_dim=3, hidden_dims=(8, 4)):
    torch.manual_seed(0)
    return VAE(
        n_features,
        latent_dim,
        hidden_dims,
        FactorizedLikelihood(["gaussian"] * n_features),
    )


@pytest.mark.parametrize("hidden_dims", [(), (8,), (16, 8, 4)])
def test_shapes_follow_arguments(hidden_dims):
    vae = make_vae(hidden_dims=hidden_dims)
    x = torch.randn(7, 5)
    out = vae(x, torch.randn(4, 1, 3))
    assert out.z.shape == (4, 7, 3)
    assert out.q_z.batch_shape == (7,)
    assert out.q_z.event_shape == (3,)
    assert out.p_x.log_prob(x).shape == (4, 7)
    assert out.p_x.log_prob_features(x).shape == (4, 7, 5)


def test_reparameterisation_is_loc_plus_scale_times_eps():
    vae = make_vae()
    x = torch.randn(6, 5)
    eps = torch.randn(2, 6, 3)
    out = vae(x, eps)
    q = out.q_z.base_dist
    assert_allclose(
        out.z.detach().numpy(), (q.loc + q.scale * eps).detach().numpy(), rtol=1e-6
    )


def test_gradients_flow_through_z():
    vae = make_vae()
    x = torch.randn(6, 5)
    out = vae(x, torch.randn(1, 6, 3))
    out.p_x.log_prob(x).sum().backward()
    assert vae.encoder.loc.weight.grad is not None
    assert vae.encoder.loc.weight.grad.abs().sum() > 0


def test_prior_is_standard_normal():
    vae = make_vae()
    p_z = vae.prior(torch.zeros(1))
    assert_allclose(p_z.base_dist.loc.numpy(), 0.0)
    assert_allclose(p_z.base_dist.scale.numpy(), 1.0)


def test_closed_form_kl_matches_torch():
    vae = make_vae()
    q_z = vae.encode(3 * torch.randn(9, 5))
    expected = torch.distributions.kl_divergence(q_z, vae.prior(torch.zeros(1)))
    assert_allclose(
        vae.kl_to_prior(q_z).detach().numpy(), expected.detach().numpy(), rtol=1e-5
    )
