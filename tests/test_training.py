import pytest
import torch
from _trainers import make_trainer

from vaeanomaly._model import VAE, as_rows
from vaeanomaly._training import (
    LIKELIHOOD_LR_FACTOR,
    _batch_bounds,
    auto_batch_size,
    auto_min_steps,
    scaled_learning_rate,
)
from vaeanomaly.likelihoods import FactorizedLikelihood
from vaeanomaly.scoring import member_elbo


def _step_size_of(trainer, param):
    """The step sizes of ``param``'s elements in the trainer's flat buffer."""
    flat = trainer.optimizer.params
    start = (param.data_ptr() - flat.data_ptr()) // flat.element_size()
    return trainer.optimizer.step_sizes[start : start + param.numel()]


def test_every_weight_is_a_view_of_the_flat_buffer_and_scales_take_the_larger_step():
    module, trainer = make_trainer(["gaussian_column"] * 3, learning_rate=2e-3)
    flat = trainer.optimizer.params
    params = list(module.parameters())
    assert sum(p.numel() for p in params) == flat.numel()
    for p in params:
        assert p.untyped_storage().data_ptr() == flat.untyped_storage().data_ptr()
        assert (
            p.grad.untyped_storage().data_ptr()
            == flat.grad.untyped_storage().data_ptr()
        )
    scales = {id(p) for p in module.likelihood.parameters()}
    for p in params:
        expected = 2e-3 * (LIKELIHOOD_LR_FACTOR if id(p) in scales else 1.0)
        assert torch.all(_step_size_of(trainer, p) == expected)


def test_heads_without_own_parameters_give_one_step_size():
    _, trainer = make_trainer(["gaussian"] * 3)
    assert torch.all(trainer.optimizer.step_sizes == 1e-3)


@pytest.mark.parametrize("clip", [None, 0.05])
def test_flat_adam_takes_the_steps_of_torch_adam(clip):
    # The reference: torch.optim.Adam with the likelihood's scales in their
    # own group, and torch's clipping, on a copy of the same network.
    heads = ["student_t_column"] * 3
    module, trainer = make_trainer(heads, learning_rate=3e-3, clip_grad_norm=clip)
    torch.manual_seed(0)
    reference = VAE(3, 2, (8,), FactorizedLikelihood(heads), n_members=1)
    reference.load_state_dict(module.state_dict())
    own = list(reference.likelihood.parameters())
    network = [p for p in reference.parameters() if all(p is not q for q in own)]
    adam = torch.optim.Adam(
        [{"params": network}, {"params": own, "lr": 3e-3 * LIKELIHOOD_LR_FACTOR}],
        lr=3e-3,
    )
    x = as_rows(torch.randn(64, 3))
    start = module.state_dict()["encoder.loc.weight"].clone()
    module.train()
    for step in range(20):
        eps = torch.randn(1, 1, 64, 2)
        trainer.optimizer.zero_grad()
        member_elbo(module, x, eps).mean().neg().backward()
        adam.zero_grad()
        member_elbo(reference, x, eps).mean().neg().backward()
        if clip is not None:
            trainer.optimizer.clip_grad_norm(clip)
            norm = torch.nn.utils.clip_grad_norm_(reference.parameters(), clip)
            assert step > 0 or norm > clip  # the clipping is exercised
        trainer.optimizer.step()
        adam.step()
    for (name, ours), theirs in zip(
        module.state_dict().items(), reference.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6, msg=name)
    assert not torch.equal(module.state_dict()["encoder.loc.weight"], start)


@pytest.mark.parametrize("head", ["gaussian_column", "student_t_column"])
def test_column_scales_move_several_times_faster_than_any_network_weight(head):
    # Adam moves a parameter by at most about its learning rate per step, so
    # with the base rate alone a column scale would crawl like the weights.
    module, trainer = make_trainer([head] * 3)
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    x = as_rows(0.05 * torch.randn(32, 3))  # far less spread than the unit start
    module.train()
    for _ in range(10):
        trainer.train_step(x, beta=1.0)
    scale_name = f"likelihood.heads.{head}.raw_scale"
    moved = {
        name: (p.detach() - before[name]).abs() for name, p in module.named_parameters()
    }
    slowest_scale = moved.pop(scale_name).min().item()
    fastest_weight = max(m.max().item() for m in moved.values())
    assert slowest_scale > 5 * fastest_weight


def test_each_member_keeps_its_own_best_weights_and_stops_when_all_have_waited():
    module, trainer = make_trainer(
        ["gaussian_column"] * 3, 1e-2, n_members=2, max_epochs=20, patience=2
    )
    # Scripted validation losses: member 0 is best at epoch 2, member 1 at 5.
    script = iter(
        torch.tensor(pair, dtype=torch.float64)
        for pair in [(5, 9), (4, 8), (6, 7), (6, 6), (6, 5), (6, 6), (6, 7), (6, 8)]
    )
    trainer.eval_step = lambda x, eps: next(script)
    snapshots = {}

    def snapshot(record):
        snapshots[record["epoch"]] = {
            k: v.clone() for k, v in module.state_dict().items()
        }

    x = as_rows(torch.randn(64, 3))
    trainer.fit(x, x, callback=snapshot)
    assert trainer.stopped_early
    assert len(trainer.history) == 7  # member 1 has waited 2 epochs after epoch 5
    assert trainer.best_epoch == 5
    for name, value in module.state_dict().items():
        assert torch.equal(value[0], snapshots[2][name][0])
        assert torch.equal(value[1], snapshots[5][name][1])


@pytest.mark.parametrize(
    ("n_rows", "expected"),
    [
        (10, 128),
        (300, 128),
        (1_000, 256),
        (1_500, 512),
        (3_000, 1024),
        (6_300, 1024),
        (1_000_000, 1024),
    ],
)
def test_auto_batch_size_gives_at_least_two_steps_an_epoch(n_rows, expected):
    batch = auto_batch_size(n_rows)
    assert batch == expected
    # The largest power of two that leaves two steps (within the bounds).
    assert batch == 128 or batch == 1024 or 2 * batch <= n_rows < 4 * batch


def test_min_steps_shrink_with_the_square_root_of_the_batch():
    assert auto_min_steps(128) == 2000
    assert auto_min_steps(512) == 1000
    assert auto_min_steps(2048) == 500


def test_learning_rate_grows_with_the_square_root_of_the_batch():
    assert scaled_learning_rate(128) == pytest.approx(1e-3)
    assert scaled_learning_rate(512) == pytest.approx(2e-3)
    assert scaled_learning_rate(2048, base=5e-4) == pytest.approx(2e-3)


def test_an_epoch_is_split_into_batches_of_equal_size():
    bounds = _batch_bounds(100, 1_000, 300)
    sizes = [stop - start for start, stop in bounds]
    # 1,000 rows in batches of at most 300: four of 250, not 300 x 3 + 100.
    assert sizes == [250, 250, 250, 250]
    assert bounds[0][0] == 100
    assert bounds[-1][1] == 1_100
    assert [b - a for a, b in _batch_bounds(0, 1_001, 500)] == [333, 334, 334]
    assert [s for s, _ in bounds[1:]] == [e for _, e in bounds[:-1]]
    assert _batch_bounds(0, 50, 128) == [(0, 50)]
