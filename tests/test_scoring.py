import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from vaeanomaly._model import VAE
from vaeanomaly.likelihoods import FactorizedLikelihood
from vaeanomaly.scoring import (
    SCORE_METHODS,
    elbo,
    feature_contributions,
    iw_elbo,
    rarest_value,
    reconstruction_probability,
)


@pytest.fixture(params=[1, 3], ids=["one member", "three members"])
def vae(request):
    torch.manual_seed(0)
    n_members = request.param
    likelihood = FactorizedLikelihood(["gaussian"] * 4, n_members=n_members)
    module = VAE(4, 2, (8,), likelihood, n_members=n_members)
    return module.eval()


@pytest.fixture
def x():
    return torch.randn(10, 4, generator=torch.Generator().manual_seed(3))


def test_kl_matches_closed_form(vae, x):
    # With eps = 0 the reconstruction term is log p(x | mu), so ELBO + KL isolates it.
    eps = torch.zeros(1, 1, 2)
    # With several members, the ELBO is the mean of theirs.
    q = vae.encode(x).base_dist
    mu, sigma = q.loc.detach().numpy(), q.scale.detach().numpy()
    kl = 0.5 * np.sum(sigma**2 + mu**2 - 1 - 2 * np.log(sigma), axis=-1).mean(0)
    recon = vae.decode(q.loc).log_prob(x).mean(0).detach().numpy()
    assert_allclose(
        elbo(vae, x, eps).detach().numpy(), recon - kl, rtol=1e-5, atol=1e-5
    )


def test_one_draw_iwae_equals_single_sample_elbo_in_expectation(vae, x):
    # One draw: log w = log p(x|z) + log p(z) - log q(z|x); its mean over many
    # single draws is the ELBO (analytic KL) up to Monte-Carlo error.
    # Each of 20,000 copies of the rows gets one draw of its own.
    gen = torch.Generator().manual_seed(0)
    copies = x.repeat(20_000, 1)
    draws = iw_elbo(vae, copies, torch.randn(1, len(copies), 2, generator=gen))
    mean_iw = draws.reshape(20_000, 10).mean(0)
    reference = elbo(vae, x, torch.randn(20_000, 10, 2, generator=gen))
    assert_allclose(
        mean_iw.detach().numpy(), reference.detach().numpy(), atol=0.05, rtol=0.01
    )


def test_bounds_are_ordered(vae, x):
    eps = torch.randn(64, 1, 2, generator=torch.Generator().manual_seed(1))
    out = vae(x, eps)
    log_w = out.p_x.log_prob(x) + vae.prior(x).log_prob(out.z) - out.q_z.log_prob(out.z)
    # log mean w >= mean log w for the same draws (Jensen).
    # Per member, then averaged over the members.
    assert torch.all(iw_elbo(vae, x, eps) >= log_w.mean((0, 1)) - 1e-5)
    # log mean p(x|z) >= mean log p(x|z) (Jensen), and the KL is >= 0.
    assert torch.all(
        reconstruction_probability(vae, x, eps) >= elbo(vae, x, eps) - 1e-5
    )


def test_recon_prob_does_not_underflow(vae):
    far = torch.full((2, 4), 1e3)
    eps = torch.randn(16, 1, 2, generator=torch.Generator().manual_seed(0))
    score = reconstruction_probability(vae, far, eps)
    assert torch.all(torch.isfinite(score))
    assert torch.all(score < -1e3)


def test_log_mean_exp_is_exact_for_equal_values(vae, x):
    eps = torch.zeros(8, 1, 2)  # eight identical draws
    single = reconstruction_probability(vae, x, eps[:1])
    many = reconstruction_probability(vae, x, eps)
    assert_allclose(many.detach().numpy(), single.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("method", sorted(SCORE_METHODS))
def test_each_row_depends_on_itself_only(vae, x, method):
    eps = torch.randn(8, 1, 2, generator=torch.Generator().manual_seed(2))
    scorer = SCORE_METHODS[method]
    full = scorer(vae, x, eps)
    assert full.shape == (10,)
    assert_allclose(
        scorer(vae, x[3:6], eps).detach().numpy(), full[3:6].detach().numpy(), rtol=1e-5
    )
    perm = torch.tensor([9, 2, 5, 0, 1, 3, 4, 6, 7, 8])
    assert_allclose(
        scorer(vae, x[perm], eps).detach().numpy(),
        full[perm].detach().numpy(),
        rtol=1e-5,
    )


def test_feature_contributions_sum_to_expected_reconstruction(vae, x):
    eps = torch.randn(8, 1, 2, generator=torch.Generator().manual_seed(4))
    contributions = feature_contributions(vae, x, eps)
    assert contributions.shape == (10, 4)
    recon = vae(x, eps).p_x.log_prob(x).mean((0, 1))  # over draws and members
    assert_allclose(
        -contributions.sum(1).detach().numpy(), recon.detach().numpy(), rtol=1e-5
    )


def test_rarest_value_is_the_least_likely_cell_under_the_columns_marginals(vae, x):
    """Brute force: decode each prior draw alone and mix its members' densities."""
    eps = torch.randn(7, 1, 2, generator=torch.Generator().manual_seed(5))
    n_members = vae.n_members
    log_p = torch.stack(
        [
            vae.decode(eps[d].expand(n_members, 1, 2)).log_prob_features(x)
            for d in range(7)
        ]
    )  # (draws, members, rows, columns)
    marginal = torch.logsumexp(log_p.flatten(0, 1), 0) - np.log(7 * n_members)
    expected = marginal.min(dim=-1).values
    assert_allclose(
        rarest_value(vae, x, eps).detach().numpy(), expected.detach().numpy(), rtol=1e-5
    )
    far = x.clone()
    far[4, 2] = 40.0  # one value far in its column's tail: the row's rarest
    assert rarest_value(vae, far, eps)[4] < rarest_value(vae, x, eps)[4] - 10


def test_rarest_value_on_a_mixed_table_with_gaps_and_an_unseen_level():
    # Several column groups (Student-t, 0/1, two categorical columns), two
    # members, a missing cell and a level not seen in fit: each row against
    # its own brute force, one prior draw decoded at a time.
    import pandas as pd
    from conftest import TINY

    from vaeanomaly import VAEAnomalyDetector
    from vaeanomaly.likelihoods import UNKNOWN_LEVEL_MASS

    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {
            "x": rng.normal(size=300),
            "flag": rng.integers(0, 2, 300),
            "kind": rng.choice(list("abc"), 300, p=[0.6, 0.3, 0.1]),
            "y": rng.normal(size=300),
            "size": rng.choice(["s", "m"], 300),
        }
    )
    det = VAEAnomalyDetector(**TINY, n_members=2, random_state=0).fit(train)
    test = train.iloc[:6].copy()
    test.loc[test.index[1], "y"] = np.nan
    test.loc[test.index[2], "kind"] = "never seen"
    got = det.set_params(score_method="rarest_value").score_samples(test)

    module = det._scoring_copy()
    eps = det._score_noise(256, torch.device("cpu")).to(torch.float64)
    _, targets, mask = det.schema_.encoder.encode(det.schema_.transform(test))
    targets = torch.as_tensor(targets)
    per_draw = torch.stack(
        [
            module.decode(eps[d].expand(2, 1, 2)).log_prob_features(targets)
            for d in range(256)
        ]
    )  # (draws, members, rows, columns)
    marginal = torch.logsumexp(per_draw.flatten(0, 1), 0) - np.log(512)
    marginal = marginal.masked_fill(~torch.as_tensor(mask), np.inf)
    assert_allclose(got, marginal.min(-1).values.detach().numpy(), rtol=1e-10)
    assert got[2] <= np.log(UNKNOWN_LEVEL_MASS) + 1e-9  # the unseen level
    # Its explanation: each cell's marginal surprisal, the largest the score.
    explained = det.score_features(test)
    expected = np.where(mask, -marginal.detach().numpy(), np.nan)
    assert_allclose(explained.to_numpy(), expected, rtol=1e-10)
    assert np.isnan(explained.iloc[1]["y"])
    assert_allclose(-explained.max(axis=1), got, rtol=1e-12)
