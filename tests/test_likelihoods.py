import numpy as np
import pytest
import torch
from _require import importorskip
from numpy.testing import assert_allclose

from vaeanomaly.likelihoods import (
    HEADS,
    UNKNOWN_LEVEL_MASS,
    CategoricalHead,
    FactorizedLikelihood,
    scale_floors,
)

scipy_stats = importorskip("scipy.stats")


def test_gaussian_head_log_prob_matches_scipy():
    params = torch.tensor([[0.5, -1.0, 0.3, 2.0]])  # loc (0.5, -1), raw scale
    head = HEADS["gaussian"](2)
    dist = head(params)
    x = torch.tensor([[0.0, 1.0]])
    scale = np.log1p(np.exp([0.3, 2.0])) + head.min_scale.numpy()
    expected = scipy_stats.norm.logpdf([0.0, 1.0], loc=[0.5, -1.0], scale=scale)
    assert_allclose(dist.base_dist.log_prob(x).numpy()[0], expected, rtol=1e-5)
    assert_allclose(dist.log_prob(x).item(), expected.sum(), rtol=1e-5)


def test_gaussian_scale_has_a_floor():
    head = HEADS["gaussian"](1)
    dist = head(torch.tensor([[0.0, -1e4]]))
    assert dist.base_dist.scale.item() == pytest.approx(head.min_scale.item())


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
    squared = p_x.squared_error_features(x)
    gauss_mean = params[:, [0, 1]]
    assert_allclose(squared[:, [0, 2]].numpy(), (x[:, [0, 2]] - gauss_mean).pow(2))


@pytest.mark.parametrize("name", sorted(HEADS))
def test_single_head_log_prob_sums_features(name):
    lik = FactorizedLikelihood([name] * 3)
    # Decoder outputs carry a member axis before the rows.
    params = torch.randn(1, 4, lik.n_params, generator=torch.Generator().manual_seed(1))
    x = torch.rand(4, 3).round()
    p_x = lik(params)
    assert_allclose(
        p_x.log_prob(x).detach().numpy(),
        p_x.log_prob_features(x).sum(-1).detach().numpy(),
        rtol=1e-6,
    )


def test_categorical_head_is_a_softmax_per_column_with_an_unknown_level():
    head = CategoricalHead([3, 2])
    assert head.n_params == 5
    logits = torch.tensor([[0.5, -1.0, 2.0, 0.3, -0.3]])
    dist = head(logits)
    codes = torch.tensor([[2.0, 0.0]])
    first = torch.log_softmax(logits[0, :3], 0)[2] + np.log1p(-UNKNOWN_LEVEL_MASS)
    second = torch.log_softmax(logits[0, 3:], 0)[0] + np.log1p(-UNKNOWN_LEVEL_MASS)
    assert_allclose(dist.log_prob(codes).numpy()[0], [first, second], rtol=1e-6)
    # A level not seen in training (code -1) has the fixed small probability.
    unseen = dist.log_prob(torch.tensor([[-1.0, 1.0]])).numpy()[0]
    assert unseen[0] == pytest.approx(np.log(UNKNOWN_LEVEL_MASS))
    # The seen levels and the unknown level make a distribution.
    total = (
        sum(
            np.exp(dist.log_prob(torch.tensor([[float(k), 0.0]])).numpy()[0, 0])
            for k in range(3)
        )
        + UNKNOWN_LEVEL_MASS
    )
    assert total == pytest.approx(1.0, abs=1e-6)


def test_categorical_brier_score():
    dist = CategoricalHead([2])(torch.tensor([[0.0, 0.0]]))  # 50/50
    p = 0.5 * (1 - UNKNOWN_LEVEL_MASS)
    hit = dist.squared_error(torch.tensor([[1.0]])).item()
    miss = dist.squared_error(torch.tensor([[-1.0]])).item()
    assert hit == pytest.approx((1 - p) ** 2 + p**2)
    assert miss == pytest.approx(1 + 2 * p**2)


def test_mask_leaves_missing_cells_out():
    lik = FactorizedLikelihood(["gaussian_column", "categorical"], n_levels=[3])
    params = torch.randn(2, 4, lik.n_params, generator=torch.Generator().manual_seed(2))
    x = torch.tensor([[0.3, 1.0], [1.2, 2.0], [0.0, 0.0], [-0.5, -1.0]])
    mask = torch.tensor([[True, True], [True, False], [False, True], [True, True]])
    with torch.no_grad():
        p_x = lik(params)
        full = p_x.log_prob_features(x)
        masked = p_x.log_prob_features(x, mask)
        per_row = p_x.log_prob(x, mask)
    assert_allclose(masked.numpy(), torch.where(mask, full, 0.0).numpy())
    assert_allclose(per_row.numpy(), masked.sum(-1).numpy())


def test_level_counts_must_match_categorical_columns():
    with pytest.raises(ValueError, match="2 categorical column"):
        FactorizedLikelihood(["categorical", "categorical"], n_levels=[3])


@pytest.mark.parametrize("family", ["normal", "student_t"])
def test_shared_scale_distributions_equal_torch_with_gradients(family):
    from torch.distributions import Normal, StudentT

    from vaeanomaly.likelihoods import SharedScaleNormal, SharedScaleStudentT

    generator = torch.Generator().manual_seed(3)
    loc = torch.randn(4, 6, 3, generator=generator, dtype=torch.float64)
    scale = torch.rand(3, generator=generator, dtype=torch.float64) + 0.1
    loc.requires_grad_(True)
    scale.requires_grad_(True)
    x = 3 * torch.randn(6, 3, generator=generator, dtype=torch.float64)
    if family == "normal":
        ours = SharedScaleNormal(loc, scale).log_prob(x)
        reference = Normal(loc, scale.expand_as(loc)).log_prob(x)
    else:
        ours = SharedScaleStudentT(loc, scale, 4.0).log_prob(x)
        reference = StudentT(4.0, loc, scale.expand_as(loc)).log_prob(x)
    assert_allclose(ours.detach(), reference.detach(), rtol=1e-12)
    grads = torch.autograd.grad(ours.sum(), (loc, scale))
    expected = torch.autograd.grad(reference.sum(), (loc, scale))
    for got, want in zip(grads, expected, strict=True):
        assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("family", ["normal", "student_t"])
def test_shared_scale_distributions_keep_torchs_moments_and_sampling(family):
    # They skip torch's constructor (per-step broadcasting, Chi2 for sampling),
    # so the attributes it would set must still be there and agree.
    from torch.distributions import Normal, StudentT

    from vaeanomaly.likelihoods import SharedScaleNormal, SharedScaleStudentT

    loc = torch.randn(2, 5, 3, dtype=torch.float64)
    scale = torch.rand(3, dtype=torch.float64) + 0.1
    if family == "normal":
        ours = SharedScaleNormal(loc, scale)
        reference = Normal(loc, scale.expand_as(loc))
    else:
        ours = SharedScaleStudentT(loc, scale, 4.0)
        reference = StudentT(4.0, loc, scale.expand_as(loc))
        assert_allclose(ours.df, reference.df)
    assert ours.batch_shape == reference.batch_shape == loc.shape
    assert_allclose(ours.mean, reference.mean)
    assert_allclose(ours.variance, reference.variance)
    torch.manual_seed(0)
    draws = ours.sample((4000,))
    assert draws.shape == (4000, *loc.shape)
    assert_allclose(draws.mean(0), loc, atol=0.15)


def test_student_t_head_matches_scipy_and_has_heavy_tails():
    from vaeanomaly.likelihoods import STUDENT_T_DF

    head = HEADS["student_t_column"](2)
    head.raw_scale.data[:] = torch.tensor([0.3, -1.0])
    params = torch.tensor([[[0.5, -1.0]]])  # (members, rows, columns)
    x = torch.tensor([[0.0, 9.0]])
    scale = np.log1p(np.exp([0.3, -1.0])) + head.min_scale.numpy()
    expected = scipy_stats.t.logpdf(
        [0.0, 9.0], STUDENT_T_DF, loc=[0.5, -1.0], scale=scale
    )
    dist = head(params)
    got = dist.base_dist.log_prob(x).detach().numpy()[0, 0]
    assert_allclose(got, expected, rtol=1e-5)
    assert_allclose(dist.mean.detach().numpy(), params.numpy())
    # A cell 20 scales out costs about 10 nats more than one at 2 scales,
    # not the Gaussian's 194 more.
    cell = torch.tensor([[[2.0], [20.0]]])
    t_cost = -HEADS["student_t_column"](1)(torch.zeros(1, 2, 1)).base_dist.log_prob(
        cell
    )
    gauss = HEADS["gaussian_column"](1)(torch.zeros(1, 2, 1)).base_dist.log_prob(cell)
    k = np.array([2.0, 20.0]) / 1.01  # both heads start at scale 1 + floor 0.01
    assert (t_cost[0, 1] - t_cost[0, 0]).item() == pytest.approx(
        2.5 * np.diff(np.log1p(k**2 / 4)).item(), rel=1e-4
    )
    assert (-gauss[0, 1] + gauss[0, 0]).item() == pytest.approx(
        np.diff(k**2 / 2).item(), rel=1e-4
    )


def test_scale_floor_is_the_sd_of_uniform_noise_over_a_step():
    # A step of 1 gives the standard deviation of U(-1/2, 1/2); continuous
    # columns (tiny steps) keep the global floor.
    assert scale_floors([1.0, 1e-6, 0.0]) == pytest.approx([12**-0.5, 1e-2, 1e-2])


@pytest.mark.parametrize("name", ["gaussian", "gaussian_column", "student_t_column"])
def test_per_column_floors_reach_the_right_columns(name):
    # Columns 0 and 2 are Gaussian (floors 0.5 and 0.2), column 1 Bernoulli.
    lik = FactorizedLikelihood([name, "bernoulli", name], min_scales=[0.5, 9.0, 0.2])
    head = lik.heads[name]
    assert_allclose(head.min_scale.numpy(), [0.5, 0.2])
    if name != "gaussian":
        head.raw_scale.data.fill_(-1e4)
    with torch.no_grad():
        scale = lik(torch.full((1, 1, lik.n_params), -1e4)).parts[0].base_dist.scale
    assert_allclose(scale.numpy().ravel(), [0.5, 0.2], rtol=1e-6)


@pytest.mark.parametrize("n_levels", [[3, 2, 5, 1, 2, 3], [2, 2, 2], [2, 3, 3, 4]])
def test_categorical_head_matches_a_softmax_per_column(n_levels):
    # Columns of 1, 2, 3, 4 and 5 levels, mixed, of one width, or in rising
    # order: the head groups them by width; each column's log-probabilities
    # and their gradient must be those of a plain log-softmax over its own
    # logits.
    head = CategoricalHead(n_levels)
    generator = torch.Generator().manual_seed(0)
    logits = (10 * torch.randn(2, 7, head.n_params, generator=generator)).double()
    codes = torch.stack(
        [torch.randint(0, k, (7,), generator=generator) for k in n_levels], dim=-1
    ).double()
    codes[0, 1] = -1.0  # a level not seen in training
    logits.requires_grad_(True)
    got = head(logits).log_prob(codes)
    pieces = logits.split(n_levels, dim=-1)
    expected = torch.stack(
        [
            torch.log_softmax(piece, dim=-1)
            .gather(-1, codes[:, c].clamp_min(0).long().expand(2, 7).unsqueeze(-1))
            .squeeze(-1)
            + np.log1p(-UNKNOWN_LEVEL_MASS)
            for c, piece in enumerate(pieces)
        ],
        dim=-1,
    )
    expected = torch.where(codes < 0, np.log(UNKNOWN_LEVEL_MASS), expected)
    assert_allclose(got.detach().numpy(), expected.detach().numpy(), atol=1e-12)
    (grad_got,) = torch.autograd.grad(got.sum(), logits)
    (grad_expected,) = torch.autograd.grad(expected.sum(), logits)
    assert_allclose(grad_got.numpy(), grad_expected.numpy(), atol=1e-12)
    # The softmax and the one-hot rows that the hand-written gradient uses.
    dist = head(logits.detach())
    probabilities = dist.level_probabilities()
    for c, piece in enumerate(logits.detach().split(n_levels, dim=-1)):
        start = sum(n_levels[:c])
        assert_allclose(
            probabilities[..., start : start + n_levels[c]].numpy(),
            torch.softmax(piece, dim=-1).numpy(),
            rtol=1e-12,
        )
    hits = dist.indicators(codes)
    assert hits.sum().item() == codes.numel() - 1
    assert hits[0, sum(n_levels[:1]) : sum(n_levels[:2])].sum().item() == 0.0
    assert_allclose(
        head.per_level(torch.arange(len(n_levels)).double()).numpy(),
        np.repeat(np.arange(len(n_levels)), n_levels),
    )
