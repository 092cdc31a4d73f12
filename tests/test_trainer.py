"""The trainer learns, every loss and regulariser trains and does its job, the NaN guard works."""

import math

import numpy as np
import pytest
import torch

from conftest import mode_of, tiny_model, tiny_train, two_mode_set
from gan_core.config import TrainConfig
from gan_core.errors import TrainingError
from gan_core.train import Trainer


def run(trainer, steps=None):
    return list(trainer.run(steps=steps))


@pytest.mark.slow
def test_a_trained_gan_produces_both_modes_of_a_two_mode_set(two_modes):
    t = Trainer(tiny_model(ngf=16, ndf=16, d_norm="none"), tiny_train(batch_size=32, steps=300, n_fixed=64), two_modes)
    before = mode_of(t.sample_fixed())[1].mean()
    run(t)
    mode, strength = mode_of(t.sample_fixed())
    counts = torch.bincount(mode, minlength=2)
    assert counts.min() >= 10, counts  # both modes, neither collapsed away
    assert strength.mean() > 1.0 > before  # images look like the modes (2.0 = perfect)


@pytest.mark.parametrize("loss", ["ns", "minimax", "lsgan", "wgan", "hinge"])
def test_every_loss_trains_with_finite_losses(two_modes, loss):
    extra = dict(penalty="wgan-gp") if loss == "wgan" else {}
    t = Trainer(tiny_model(d_norm="none"), tiny_train(loss=loss, steps=8, **extra), two_modes)
    g0 = t.G.to_img.weight.detach().clone()
    ms = run(t)
    assert all(math.isfinite(m["loss_d"]) and math.isfinite(m["loss_g"]) for m in ms)
    assert not torch.equal(g0, t.G.to_img.weight)


@pytest.mark.parametrize("penalty", ["wgan-gp", "zero-gp", "r1"])
def test_penalties_are_computed_and_reported(two_modes, penalty):
    t = Trainer(tiny_model(d_norm="none"), tiny_train(loss="hinge", penalty=penalty, steps=3), two_modes)
    ms = run(t)
    assert all(m["penalty"] > 0 for m in ms)


def test_gradient_penalty_pulls_d_gradient_norm_toward_one(two_modes):
    def grad_norm_at_interpolates(t):
        real, _ = t.next_batch()
        fake = t.G(t.noise(real.shape[0])).detach()
        x = (0.5 * real + 0.5 * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(t.D(x).sum(), x)
        return g.flatten(1).norm(dim=1).mean().item()

    cfg = dict(loss="wgan", steps=40, lr_d=1e-3)
    plain = Trainer(tiny_model(d_norm="none"), tiny_train(**cfg), two_modes)
    gp = Trainer(tiny_model(d_norm="none"), tiny_train(penalty="wgan-gp", penalty_weight=10.0, **cfg), two_modes)
    run(plain), run(gp)
    assert abs(grad_norm_at_interpolates(gp) - 1) < abs(grad_norm_at_interpolates(plain) - 1)


def test_feature_matching_adds_to_the_generator_loss(two_modes):
    a = Trainer(tiny_model(), tiny_train(steps=1), two_modes)
    b = Trainer(tiny_model(), tiny_train(steps=1, feature_matching=10.0), two_modes)
    assert run(b)[0]["loss_g"] > run(a)[0]["loss_g"]


def test_ema_generator_lags_behind_g(two_modes):
    t = Trainer(tiny_model(), tiny_train(ema=0.9, ema_rampup=False, steps=5), two_modes)
    start = t.G_ema.to_img.weight.detach().clone()
    run(t)
    moved_ema = (t.G_ema.to_img.weight - start).abs().sum()
    moved_g = (t.G.to_img.weight - start).abs().sum()
    assert 0 < moved_ema < moved_g
    assert t.sampling_generator() is t.G_ema


def test_d_steps_ttur_and_schedule(two_modes):
    t = Trainer(tiny_model(), tiny_train(d_steps=3, lr_g=1e-4, lr_d=4e-4, schedule="linear", steps=4), two_modes)
    ms = run(t)
    assert t.opt_d.state_dict()["state"][0]["step"].item() == 12  # 3 D steps per G step
    assert t.opt_g.state_dict()["state"][0]["step"].item() == 4
    assert ms[0]["lr_d"] == pytest.approx(4e-4) and ms[0]["lr_g"] == pytest.approx(1e-4)
    assert ms[-1]["lr_g"] == pytest.approx(1e-4 * 0.25)  # linear decay at step 3 of 4


def test_weight_decay_shrinks_weights_compared_to_none(two_modes):
    a = Trainer(tiny_model(), tiny_train(steps=5, lr_g=1e-3), two_modes)
    b = Trainer(tiny_model(), tiny_train(steps=5, lr_g=1e-3, weight_decay=0.5), two_modes)
    run(a), run(b)
    assert b.G.to_img.weight.norm() < a.G.to_img.weight.norm()


def test_freeze_d_keeps_the_first_blocks_fixed(two_modes):
    t = Trainer(tiny_model(), tiny_train(freeze_d=1, steps=3), two_modes)
    first, second = t.D.blocks[0].conv.weight.clone(), t.D.blocks[1].conv.weight.clone()
    run(t)
    assert torch.equal(first, t.D.blocks[0].conv.weight)
    assert not torch.equal(second, t.D.blocks[1].conv.weight)


@pytest.mark.parametrize("option", [dict(diffaug="color,translation,cutout", hflip=True), dict(label_smoothing=0.2)])
def test_augmentation_and_smoothing_options_train(two_modes, option):
    ms = run(Trainer(tiny_model(), tiny_train(steps=3, **option), two_modes))
    assert all(math.isfinite(m["loss_d"]) for m in ms)


@pytest.mark.parametrize("option", [dict(spectral_norm=True, d_norm="none"), dict(mbstd=True),
                                    dict(minibatch_disc=4), dict(d_dropout=0.3)])
def test_regularised_discriminators_train(two_modes, option):
    ms = run(Trainer(tiny_model(**option), tiny_train(steps=3), two_modes))
    assert all(math.isfinite(m["loss_d"]) for m in ms)


@pytest.mark.slow
@pytest.mark.parametrize("class_concat, lr, steps", [(True, 2e-4, 300), (False, 1e-3, 450)])
def test_conditional_gan_draws_the_requested_mode(two_modes, class_concat, lr, steps):
    """Conditional BN + projection D learns the class; a class embedding concatenated to z learns it sooner."""
    t = Trainer(tiny_model(ngf=16, ndf=16, d_norm="none", num_classes=2, mbstd=True, class_concat=class_concat),
                tiny_train(batch_size=32, steps=steps, n_fixed=64, lr_g=lr, lr_d=lr), two_modes)
    run(t)
    mode, _ = mode_of(t.sample_fixed())
    assert (mode == t.fixed_y).float().mean() > 0.9


def test_fewer_images_than_a_batch_still_trains():
    tiny = two_mode_set(n=3)
    ms = run(Trainer(tiny_model(), tiny_train(batch_size=16, steps=2), tiny))
    assert len(ms) == 2


def test_stop_flag_ends_the_run_after_the_current_step(two_modes):
    calls = []
    t = Trainer(tiny_model(), tiny_train(steps=100), two_modes, stop=lambda: len(calls) >= 3)
    for m in t.run():
        calls.append(m)
    assert len(calls) == 3


def test_time_budget_ends_the_run(two_modes):
    t = Trainer(tiny_model(), tiny_train(steps=10**6), two_modes)
    ms = run_for = list(t.run(seconds=0.5))
    assert 0 < len(run_for) < 10**6 and ms[-1]["eta"] >= 0


def inject_nan_at(trainer, bad_steps, once=True):
    """A fault: a NaN in the batch of each step in `bad_steps` (the first time it is reached, if `once`)."""
    real_next = trainer.next_batch
    pending = set(bad_steps)

    def next_batch():
        x, y = real_next()
        if trainer.step in pending:
            if once:
                pending.discard(trainer.step)
            x = x.clone()
            x[0, 0, 0, 0] = float("nan")
        return x, y

    trainer.next_batch = next_batch


def test_a_nan_loss_is_rolled_back_and_reported(two_modes):
    t = Trainer(tiny_model(), tiny_train(steps=12), two_modes)
    inject_nan_at(t, {6})
    ms = run(t)
    events = [m for m in ms if m.get("event") == "rollback"]
    assert len(events) == 1 and events[0]["to_step"] <= 6
    assert t.step == 12
    assert all(torch.isfinite(p).all() for p in t.G.parameters())
    assert all(torch.isfinite(p).all() for p in t.D.parameters())


def test_repeated_divergence_stops_with_a_plain_explanation(two_modes):
    t = Trainer(tiny_model(), tiny_train(steps=50, max_rollbacks=2), two_modes)
    inject_nan_at(t, set(range(3, 50)), once=False)  # a real divergence: every step from 3 on
    with pytest.raises(TrainingError, match="diverged.*learning rate"):
        run(t)


def test_weight_stats_cover_every_conv_layer(two_modes):
    t = Trainer(tiny_model(), tiny_train(), two_modes)
    stats = t.weight_stats(bins=10)
    layers = {(s["net"], s["layer"]) for s in stats}
    assert ("G", "to_img.weight") in layers and ("D", "to_score.weight") in layers
    params = {"G": dict(t.G.named_parameters()), "D": dict(t.D.named_parameters())}
    for s in stats:  # every weight falls in one bin
        assert sum(s["counts"]) == params[s["net"]][s["layer"]].numel()


def test_mismatched_data_is_refused_clearly(two_modes):
    with pytest.raises(TrainingError, match="expects"):
        Trainer(tiny_model(res=32), tiny_train(), two_modes)
    with pytest.raises(TrainingError, match="classes"):
        Trainer(tiny_model(num_classes=5), tiny_train(), two_modes)
