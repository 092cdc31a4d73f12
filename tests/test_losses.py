"""The losses and penalties match their equations on hand-computed values."""

import math

import pytest
import torch

from gan_core import losses

R = torch.tensor([2.0, -1.0])  # D's scores on real images
F = torch.tensor([0.5, -3.0])  # D's scores on fakes
sig = torch.sigmoid


def test_ns_discriminator_loss_is_binary_cross_entropy():
    expected = -(torch.log(sig(R)).mean() + torch.log(1 - sig(F)).mean())
    assert torch.allclose(losses.d_loss("ns", R, F), expected)
    assert torch.allclose(losses.d_loss("minimax", R, F), expected)


def test_label_smoothing_moves_the_real_target():
    s = 0.1
    expected = -((1 - s) * torch.log(sig(R)) + s * torch.log(1 - sig(R))).mean() - torch.log(1 - sig(F)).mean()
    assert torch.allclose(losses.d_loss("ns", R, F, label_smoothing=s), expected)


def test_generator_losses():
    assert torch.allclose(losses.g_loss("ns", F), -torch.log(sig(F)).mean())
    assert torch.allclose(losses.g_loss("minimax", F), torch.log(1 - sig(F)).mean())
    assert torch.allclose(losses.g_loss("lsgan", F), 0.5 * ((F - 1) ** 2).mean())
    assert torch.allclose(losses.g_loss("wgan", F), -F.mean())
    assert torch.allclose(losses.g_loss("hinge", F), -F.mean())


def test_other_discriminator_losses():
    assert torch.allclose(losses.d_loss("lsgan", R, F), 0.5 * ((R - 1) ** 2).mean() + 0.5 * (F**2).mean())
    assert torch.allclose(losses.d_loss("wgan", R, F), F.mean() - R.mean())
    hinge = torch.relu(1 - R).mean() + torch.relu(1 + F).mean()
    assert torch.allclose(losses.d_loss("hinge", R, F), hinge)


def test_losses_stay_finite_for_extreme_scores():
    big = torch.tensor([1e4, -1e4])
    for kind in ("ns", "minimax"):
        assert torch.isfinite(losses.d_loss(kind, big, -big))
        assert torch.isfinite(losses.g_loss(kind, big))


def test_minimax_generator_gradient_vanishes_when_d_wins_but_ns_does_not():
    f = torch.tensor([-10.0], requires_grad=True)  # D confidently rejects the fake
    (g_mm,) = torch.autograd.grad(losses.g_loss("minimax", f), f)
    (g_ns,) = torch.autograd.grad(losses.g_loss("ns", f), f)
    assert abs(g_mm.item()) < 1e-4 < abs(g_ns.item())


def linear_critic(w):
    return lambda x: (x * w).flatten(1).sum(1)  # gradient wrt x is w everywhere


def test_gradient_penalty_of_a_linear_critic():
    w = torch.full((1, 1, 2, 2), 1.0)  # ||grad|| = 2
    real, fake = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2)
    alpha = torch.rand(4, 1, 1, 1)
    gp1 = losses.gradient_penalty(linear_critic(w), real, fake, alpha, center=1.0)
    gp0 = losses.gradient_penalty(linear_critic(w), real, fake, alpha, center=0.0)
    assert gp1.item() == pytest.approx((2 - 1) ** 2, rel=1e-5)
    assert gp0.item() == pytest.approx(4.0, rel=1e-5)


def test_r1_is_the_squared_gradient_norm_on_reals():
    w = torch.full((1, 1, 2, 2), 0.5)  # ||grad||^2 = 1
    assert losses.r1_penalty(linear_critic(w), torch.randn(3, 1, 2, 2)).item() == pytest.approx(1.0)


def test_feature_matching_is_zero_for_equal_means_and_positive_otherwise():
    a = torch.randn(8, 5)
    assert losses.feature_matching(a, a[torch.randperm(8)]).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.feature_matching(a, a + 1).item() == pytest.approx(5.0, rel=1e-5)


def test_ema_update_moves_toward_the_model_by_one_minus_beta():
    ema, model = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = ema.weight.detach().clone()
    losses.ema_update(ema, model, beta=0.9)
    assert torch.allclose(ema.weight, 0.9 * before + 0.1 * model.weight)
    losses.ema_update(ema, model, beta=0.0)
    assert torch.equal(ema.weight, model.weight)


def test_ema_rampup_starts_low_and_reaches_beta():
    assert losses.ema_beta(0.999, 0, rampup=True) == pytest.approx(0.1)
    assert losses.ema_beta(0.999, 10**6, rampup=True) == 0.999
    assert losses.ema_beta(0.999, 0, rampup=False) == 0.999


def test_lr_schedules():
    assert losses.lr_factor("constant", 50, 100) == 1.0
    assert losses.lr_factor("linear", 50, 100) == pytest.approx(0.5)
    assert losses.lr_factor("cosine", 100, 100) == pytest.approx(0.0, abs=1e-12)
    assert losses.lr_factor("cosine", 50, 100) == pytest.approx(0.5)
    assert math.isclose(losses.lr_factor("cosine", 0, 100), 1.0)
