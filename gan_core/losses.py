"""Adversarial losses, penalties, EMA and learning-rate schedules: small pure functions.

Conventions: the discriminator returns raw scores ("logits") of shape (B,), never
probabilities; D(x) = sigmoid(logit) where a probability is meant. Every loss is a mean
over the batch. Softplus forms are used instead of log(sigmoid) because they are exact and
never overflow: -log sigmoid(t) = softplus(-t), -log(1 - sigmoid(t)) = softplus(t).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def d_loss(kind: str, real: Tensor, fake: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Discriminator loss. `real`, `fake`: D's scores on real and generated images, (B,).

    - ns / minimax (Goodfellow et al. 2014): L_D = -[log D(x) + log(1 - D(G(z)))],
      with one-sided label smoothing the real target is 1 - s (Salimans et al. 2016).
    - lsgan (Mao et al. 2017):  L_D = 1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2
    - wgan (Arjovsky et al. 2017): L_D = D(G(z)) - D(x)   (pair with a gradient penalty)
    - hinge (Lim & Ye 2017; Miyato et al. 2018): L_D = max(0, 1 - D(x)) + max(0, 1 + D(G(z)))
    """
    if kind in ("ns", "minimax"):
        t = 1.0 - label_smoothing
        real_term = t * F.softplus(-real) + (1.0 - t) * F.softplus(real)
        return real_term.mean() + F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()
    if kind == "wgan":
        return fake.mean() - real.mean()
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    raise ValueError(f"unknown loss {kind!r}")


def g_loss(kind: str, fake: Tensor) -> Tensor:
    """Generator loss from D's scores on generated images, (B,).

    - ns: L_G = -log D(G(z)) (non-saturating: strong gradients when D rejects G's images)
    - minimax: L_G = log(1 - D(G(z))) (the original game; its gradient vanishes when D wins)
    - lsgan: L_G = 1/2 (D(G(z)) - 1)^2
    - wgan, hinge: L_G = -D(G(z))
    """
    if kind == "ns":
        return F.softplus(-fake).mean()
    if kind == "minimax":
        return -F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((fake - 1.0) ** 2).mean()
    if kind in ("wgan", "hinge"):
        return -fake.mean()
    raise ValueError(f"unknown loss {kind!r}")


def _grad_norm_sq(scores: Tensor, inputs: Tensor) -> Tensor:
    """||d scores / d inputs||^2 per sample, (B,); keeps the graph for double backward."""
    (grad,) = torch.autograd.grad(scores.sum(), inputs, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1)


def gradient_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, alpha: Tensor, center: float
) -> Tensor:
    """Penalty on random interpolates x^ = a x + (1 - a) G(z), a ~ U(0, 1) of shape (B, 1, 1, 1).

    center = 1: WGAN-GP (Gulrajani et al. 2017), E[(||grad D(x^)|| - 1)^2].
    center = 0: zero-centred GP (Thanh-Tung et al. 2019), E[||grad D(x^)||^2].
    """
    x_hat = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    norm_sq = _grad_norm_sq(critic(x_hat), x_hat)
    if center == 0.0:
        return norm_sq.mean()
    return ((norm_sq + 1e-12).sqrt() - center).pow(2).mean()


def r1_penalty(critic: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): E_x[||grad D(x)||^2] on real images; weight it by gamma/2."""
    x = real.detach().requires_grad_(True)
    return _grad_norm_sq(critic(x), x).mean()


def feature_matching(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """Feature matching (Salimans et al. 2016): ||E f(x) - E f(G(z))||^2 over D's features (B, F)."""
    return (real_features.detach().float().mean(0) - fake_features.float().mean(0)).pow(2).sum()


def ema_beta(beta: float, step: int, rampup: bool) -> float:
    """EMA decay at `step`: with ramp-up min(beta, (1 + step) / (10 + step)), so early G is tracked."""
    if not rampup:
        return beta
    return min(beta, (1.0 + step) / (10.0 + step))


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, beta: float) -> None:
    """theta_ema <- beta * theta_ema + (1 - beta) * theta; buffers (BN statistics) are copied."""
    ema_p = [p for p in ema.parameters()]
    model_p = [p.detach() for p in model.parameters()]
    if beta == 0.0:
        torch._foreach_copy_(ema_p, model_p)
    else:
        torch._foreach_lerp_(ema_p, model_p, 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)


def lr_factor(schedule: str, step: int, total: int) -> float:
    """Multiplier of the base learning rate at `step` of `total`: constant, linear or cosine decay."""
    if schedule == "constant" or total <= 0:
        return 1.0
    progress = min(max(step / total, 0.0), 1.0)
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown schedule {schedule!r}")
