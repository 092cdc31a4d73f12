"""ToyTrainer, ToyConfig and the MLPs: seeded determinism, every loss and penalty, live switches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_core.config import ConfigError
from gan_core.toy.config import ToyConfig
from gan_core.toy.distributions import custom
from gan_core.toy.models import ToyDiscriminator, ToyGenerator
from gan_core.toy.render import render_view
from gan_core.device import torch_threads
from gan_core.toy.trainer import History, ToyTrainer

TINY = dict(batch=32, layers=2, width=16)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread is fastest, and on a shared 2-core box 2 threads crawl."""
    with torch_threads(1):
        yield


def _weights(trainer: ToyTrainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in [*trainer.G.parameters(), *trainer.D.parameters()]]


def test_same_seed_gives_bitwise_identical_runs_on_cpu():
    a, b = ToyTrainer(ToyConfig(**TINY, seed=3)), ToyTrainer(ToyConfig(**TINY, seed=3))
    rows_a = [a.step() for _ in range(15)]
    rows_b = [b.step() for _ in range(15)]
    assert rows_a == rows_b
    for wa, wb in zip(_weights(a), _weights(b)):
        assert torch.equal(wa, wb)


def test_a_different_seed_gives_a_different_run():
    a, b = ToyTrainer(ToyConfig(**TINY, seed=0)), ToyTrainer(ToyConfig(**TINY, seed=1))
    assert not torch.equal(_weights(a)[0], _weights(b)[0])


def test_weights_and_runs_depend_on_the_seed_not_on_the_global_torch_rng():
    torch.manual_seed(1)
    a = ToyTrainer(ToyConfig(**TINY, sn=True))
    torch.manual_seed(2)
    b = ToyTrainer(ToyConfig(**TINY, sn=True))
    assert all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(b)))
    torch.manual_seed(3)
    row_a = a.step()
    torch.manual_seed(4)
    assert b.step() == row_a


def test_step_returns_the_losses_penalty_scores_and_generator_gradient():
    row = ToyTrainer(ToyConfig(**TINY)).step()
    assert set(row) == {"step", "d_loss", "g_loss", "penalty", "d_real", "d_fake", "g_grad"}
    assert row["step"] == 1.0 and all(np.isfinite(list(row.values())))


@pytest.mark.parametrize("loss", ["ns", "minimax", "lsgan", "wgan", "hinge"])
@pytest.mark.parametrize("penalty", ["none", "wgan-gp", "zero-gp", "r1"])
def test_every_loss_with_every_penalty_trains_with_finite_values(loss, penalty):
    t = ToyTrainer(ToyConfig(**TINY, loss=loss, penalty=penalty, penalty_weight=1.0))
    rows = t.run(3)
    assert all(np.isfinite(list(rows.values())))
    assert (rows["penalty"] > 0) == (penalty != "none")


def test_spectral_norm_runs_are_reproducible_and_keep_each_layer_at_most_1_lipschitz():
    a, b = ToyTrainer(ToyConfig(**TINY, sn=True)), ToyTrainer(ToyConfig(**TINY, sn=True))
    a.run(5)
    b.run(5)
    assert all(torch.equal(x, y) for x, y in zip(_weights(a), _weights(b)))
    a.D.eval()
    for m in a.D.modules():
        if isinstance(m, torch.nn.Linear):
            assert torch.linalg.matrix_norm(m.weight, ord=2) <= 1.0 + 1e-3


def test_same_seed_gives_the_same_starting_weights_with_and_without_sn():
    plain, sn = ToyTrainer(ToyConfig(**TINY)), ToyTrainer(ToyConfig(**TINY, sn=True))
    assert torch.equal(plain.G.net[0].weight, sn.G.net[0].weight)
    assert torch.equal(plain.D.net[0].weight, sn.D.net[0].parametrizations.weight.original)


def test_d_steps_updates_d_that_many_times_per_g_update():
    t = ToyTrainer(ToyConfig(**TINY, d_steps=3))
    t.run(2)
    d_state = next(iter(t.opt_d.state.values()))
    g_state = next(iter(t.opt_g.state.values()))
    assert int(d_state["step"]) == 6 and int(g_state["step"]) == 2


def test_g_step_leaves_d_weights_unchanged():
    t = ToyTrainer(ToyConfig(**TINY))
    t.d_step()
    before = [p.detach().clone() for p in t.D.parameters()]
    t.g_step()
    assert all(torch.equal(p, q) for p, q in zip(before, t.D.parameters()))


def test_live_settings_switch_without_a_restart_and_change_the_learning_rates():
    t = ToyTrainer(ToyConfig(**TINY))
    t.run(2)
    t.apply(t.cfg.replace(loss="minimax", lr_d=5e-3, penalty="r1"))
    assert t.step_count == 2 and t.opt_d.param_groups[0]["lr"] == 5e-3
    assert t.step()["penalty"] > 0


def test_structural_changes_are_refused_by_apply():
    t = ToyTrainer(ToyConfig(**TINY))
    with pytest.raises(ValueError, match="width"):
        t.apply(t.cfg.replace(width=32))


def test_rendering_between_steps_does_not_change_the_run():
    plain, watched = ToyTrainer(ToyConfig(**TINY, sn=True)), ToyTrainer(ToyConfig(**TINY, sn=True))
    for _ in range(4):
        plain.step()
        watched.step()
        render_view(watched)
        watched.evaluate()
    assert all(torch.equal(x, y) for x, y in zip(_weights(plain), _weights(watched)))
    assert plain.step() == watched.step()


def test_distributions_without_modes_have_no_coverage_and_custom_points_do():
    assert ToyTrainer(ToyConfig(**TINY, dist="moons")).evaluate() is None
    pts = np.array([[0.0, 0.0], [1.0, 1.0]])
    cov = ToyTrainer(ToyConfig(**TINY, dist="custom"), custom(pts, normalise=False)).evaluate()
    assert cov["num_modes"] == 2


def test_history_keeps_a_bounded_evenly_thinned_record():
    h = History(capacity=10)
    for s in range(1, 101):
        h.add({"step": float(s), "d_loss": 0.0})
    steps = h.column("step")
    assert len(steps) < 10 and steps[-1] >= 90
    assert len(set(np.diff(steps))) == 1  # evenly spaced after thinning


def test_models_map_latents_to_points_and_points_to_one_score():
    g = torch.Generator().manual_seed(0)
    G, D = ToyGenerator(nz=4, width=8, layers=2, generator=g), ToyDiscriminator(8, 2, sn=False, generator=g)
    x = G(torch.randn(5, 4))
    assert x.shape == (5, 2) and D(x).shape == (5,)


@pytest.mark.parametrize("field, value", [("loss", "wgan-gp"), ("penalty", "r2"), ("batch", 1),
                                          ("layers", 0), ("lr_d", -1.0), ("dist", "ring9")])
def test_toy_config_refuses_out_of_range_values_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"ToyConfig.{field}"):
        ToyConfig.from_dict({field: value})


def test_toy_config_round_trips_through_json():
    cfg = ToyConfig(loss="hinge", sn=True, width=32, seed=9)
    assert ToyConfig.from_json(cfg.to_json()) == cfg
