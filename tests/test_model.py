import pytest
import torch
from numpy.testing import assert_allclose

from vaeanomaly._model import VAE
from vaeanomaly.likelihoods import FactorizedLikelihood


def make_vae(
    n_features=5, latent_dim=3, hidden_dims=(8, 4), n_members=1, head="gaussian"
):
    torch.manual_seed(0)
    return VAE(
        n_features,
        latent_dim,
        hidden_dims,
        FactorizedLikelihood([head] * n_features, n_members=n_members),
        n_members=n_members,
    )


@pytest.mark.parametrize("n_members", [1, 3])
@pytest.mark.parametrize("hidden_dims", [(), (8,), (16, 8, 4)])
def test_shapes_follow_arguments(hidden_dims, n_members):
    vae = make_vae(hidden_dims=hidden_dims, n_members=n_members)
    x = torch.randn(7, 5)
    out = vae(x, torch.randn(4, 1, 3))
    assert out.z.shape == (4, n_members, 7, 3)
    assert out.q_z.batch_shape == (n_members, 7)
    assert out.q_z.event_shape == (3,)
    assert out.p_x.log_prob(x).shape == (4, n_members, 7)
    assert out.p_x.log_prob_features(x).shape == (4, n_members, 7, 5)


@pytest.mark.parametrize("n_members", [1, 3])
def test_reparameterisation_is_loc_plus_scale_times_eps(n_members):
    vae = make_vae(n_members=n_members)
    x = torch.randn(6, 5)
    eps = torch.randn(2, 6, 3)
    out = vae(x, eps)
    q = out.q_z.base_dist
    expected = q.loc + q.scale * eps.unsqueeze(1)  # the same draws for each member
    assert_allclose(out.z.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    own = torch.randn(2, n_members, 6, 3)  # or each member its own
    expected = q.loc + q.scale * own
    assert_allclose(
        vae(x, own).z.detach().numpy(), expected.detach().numpy(), rtol=1e-6
    )


@pytest.mark.parametrize("head", ["gaussian", "gaussian_column", "student_t_column"])
def test_each_member_is_the_vae_it_would_be_alone(head):
    # Copy member 1 of an ensemble into a one-member VAE: same outputs.
    ensemble = make_vae(n_members=3, head=head)
    single = make_vae(n_members=1, head=head)
    single.load_state_dict(
        {key: value[1:2] for key, value in ensemble.state_dict().items()}
    )
    x, eps = torch.randn(6, 5), torch.randn(2, 1, 3)
    with torch.no_grad():
        both = ensemble(x, eps).p_x.log_prob_features(x)[:, 1]
        alone = single(x, eps).p_x.log_prob_features(x)[:, 0]
    assert_allclose(both.numpy(), alone.numpy(), rtol=1e-5)


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
