"""Projection: find the latent (and class) whose image best matches a given image.

Optimises z (several random restarts, a coarse-to-fine pixel loss, and the discriminator's
features when one is given) so that a user can start a walk from their own photo.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gan_core.device import autocast, resolve_precision
from gan_core.latent import LatentError, _check_seed, _device_of, _is_channels_last, eval_mode, one_hot, to_uint8

@dataclass
class Projection:
    """The result of `project`. Unpacks as `z, recon, loss = project(...)`."""

    z: Tensor  # (nz,) float32 latent
    y: Tensor | None  # (K,) class weights summing to 1 for a conditional G, else None
    recon: np.ndarray  # (res, res, C) uint8: G(z, y)
    loss: float  # pixel MSE of recon vs the target at full resolution, images in [-1, 1]
    seconds: float  # wall time of the optimisation
    steps: int  # optimisation steps actually taken (fewer when `max_seconds` ran out)

    def __iter__(self):
        return iter((self.z, self.recon, self.loss))


def image_to_tensor(image: np.ndarray, res: int, channels: int) -> Tensor:
    """uint8 (H, W, C) or (H, W) -> (1, channels, res, res) float in [-1, 1].

    A non-square image is centre-cropped, then resized with antialiasing; RGBA drops
    alpha; RGB <-> gray conversions use ITU-R 601 luma, as Pillow's "L" does.
    """
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise LatentError(f"image must be uint8 (H, W) or (H, W, 1|3|4), got {a.dtype} {a.shape}")
    if a.ndim == 2:
        a = a[:, :, None]
    a = a[:, :, :3]
    x = torch.from_numpy(np.array(a)).permute(2, 0, 1).float()[None] / 127.5 - 1  # (1, c, H, W)
    h, w = x.shape[2:]
    s = min(h, w)
    x = x[:, :, (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    if s != res:
        x = F.interpolate(x, size=(res, res), mode="bilinear", antialias=s > res, align_corners=False)
    if channels == 1 and x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114])[None, :, None, None]).sum(1, keepdim=True)
    elif channels == 3 and x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.clamp(-1, 1)


def _pyramid_factors(res: int) -> list[int]:
    """Downsampling factors of the coarse-to-fine loss, coarse first: 8, 4, 2, 1 at 64 px."""
    return [f for f in (8, 4, 2, 1) if res // f >= 4]


def _pixel_loss(x: Tensor, target: Tensor, factors: list[int]) -> Tensor:
    """Sum over scales f of mean((pool_f(x) - pool_f(target))^2): per image, (B,)."""
    total = x.new_zeros(x.shape[0])
    for f in factors:
        xs = F.avg_pool2d(x, f) if f > 1 else x
        ts = F.avg_pool2d(target, f) if f > 1 else target
        total = total + (xs - ts).pow(2).mean(dim=(1, 2, 3))
    return total


def _adam_update(p: Tensor, g: Tensor, m: Tensor, v: Tensor, step: int, lr: float,
                 b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> None:
    """One Adam step in place (Kingma & Ba 2015): m, v are the running moments of g.

    Written out because torch.optim's first use imports torch._dynamo, seconds on a
    small CPU, which would dominate a projection.
    """
    m.mul_(b1).add_(g, alpha=1 - b1)
    v.mul_(b2).addcmul_(g, g, value=1 - b2)
    m_hat = m / (1 - b1**step)
    v_hat = v / (1 - b2**step)
    p.sub_(lr * m_hat / (v_hat.sqrt() + eps))


def project(
    G: torch.nn.Module,
    image: np.ndarray,
    steps: int = 200,
    seed: int = 0,
    D: torch.nn.Module | None = None,
    y: int | Tensor | None = None,
    restarts: int = 8,
    candidates: int = 256,
    lr: float = 0.05,
    d_weight: float = 0.05,
    max_seconds: float | None = None,
    precision: str = "auto",
) -> Projection:
    """Find the latent (and class) whose image best matches `image` (uint8 (H, W, C)).

    1. Candidates: `candidates` seeded latents (for a conditional G with y None, classes
       cycle through all K) are scored at a coarse scale; the best `restarts` start.
    2. The restarts are optimised together (eval-mode batch norm keeps them independent)
       with Adam (cosine-decayed lr) for `steps` steps on a coarse-to-fine pixel loss:
       the pyramid levels (8x, 4x, 2x, 1x downsampled) switch on one by one over the
       first half, so the layout is matched before the detail. In the second half a
       discriminator D, when given, adds its features as a perceptual term,
       d_weight * |phi(G(z)) - phi(x)|^2 / |phi(x)|^2. A prior (mean(z^2) - 1)^2 keeps z
       near the shell where N(0, I) puts its mass.
    3. For a conditional G with y None the class is optimised too, as softmax(logits).
    G and D run under bf16 autocast where `precision` resolves to it (z, the moments and
    the losses stay float32). The restart with the lowest full-resolution pixel loss is
    returned, its reconstruction computed in float32. `max_seconds` stops early (the
    result is then time-dependent); without it the result is a pure function of the
    arguments on one machine.
    """
    if steps < 0 or restarts < 1 or candidates < restarts:
        raise LatentError("project needs steps >= 0 and candidates >= restarts >= 1")
    cfg = G.cfg
    device = _device_of(G)
    amp_dtype = resolve_precision(precision, device)
    for m in (G, D):
        if m is not None and not _is_channels_last(m):
            m.to(memory_format=torch.channels_last)
    t0 = time.perf_counter()
    target = image_to_tensor(image, cfg.res, cfg.channels).to(device)  # (1, C, R, R)
    factors = _pyramid_factors(cfg.res)
    gen = torch.Generator(device="cpu").manual_seed(_check_seed(seed))
    K = cfg.num_classes
    learn_class = K > 0 and y is None
    if K > 0 and not learn_class:
        y = torch.as_tensor(y)
        y_fixed = one_hot(y, K) if not y.is_floating_point() else y.float()
        y_fixed = y_fixed.reshape(1, K).to(device)
    elif K == 0:
        y_fixed = None

    with eval_mode(G, D):
        # 1. candidate search: coarse pixel loss of many seeded starts
        z_all = torch.randn(candidates, cfg.nz, generator=gen).to(device)
        cls_all = torch.arange(candidates) % K if learn_class else None
        with torch.no_grad():
            scores = []
            for i in range(0, candidates, 64):
                yi = one_hot(cls_all[i : i + 64], K).to(device) if learn_class else (
                    None if y_fixed is None else y_fixed.expand(min(64, candidates - i), -1))
                with autocast(device, amp_dtype):
                    x = G(z_all[i : i + 64], yi)
                scores.append(_pixel_loss(x.float(), target, factors[:1]))
            best = torch.cat(scores).argsort()[:restarts]
        z = z_all[best].clone().requires_grad_(True)  # (R, nz)
        params = [z]
        if learn_class:
            logits = (4.0 * one_hot(cls_all[best], K)).to(device).requires_grad_(True)  # ~95% on the start class
            params.append(logits)
        moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
        feat_t = None
        if D is not None:
            with torch.no_grad():
                yd = torch.full((1, K), 1.0 / K, device=device) if learn_class else y_fixed  # all classes alike
                with autocast(device, amp_dtype):
                    feat_t = D(target, yd, return_features=True)[1]
                feat_t = feat_t.float()  # (1, F)
            feat_scale = feat_t.pow(2).mean().clamp_min(1e-8)

        def classes() -> Tensor | None:
            if learn_class:
                return torch.softmax(logits, dim=1)
            return None if y_fixed is None else y_fixed.expand(z.shape[0], -1)

        # 2. coarse-to-fine optimisation of all restarts at once
        taken = 0
        for step in range(steps):
            if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
                break
            progress = step / max(1, steps)
            lr_now = lr * 0.5 * (1 + math.cos(math.pi * progress))  # cosine decay: large moves first, then settle
            n_levels = min(len(factors), 1 + int(progress * 2 * len(factors)))
            with torch.enable_grad():
                yc = classes()
                with autocast(device, amp_dtype):
                    x = G(z, yc)
                x = x.float()
                loss = _pixel_loss(x, target, factors[:n_levels])
                if D is not None and progress >= 0.5:  # detail stage: layout is settled by then
                    with autocast(device, amp_dtype):
                        feats = D(x, yc, return_features=True)[1]
                    feats = feats.float()
                    loss = loss + d_weight * (feats - feat_t).pow(2).mean(1) / feat_scale
                loss = loss + 1e-3 * (z.pow(2).mean(1) - 1).pow(2)
                # autograd.grad, not backward: G's and D's own parameters get no .grad
                grads = torch.autograd.grad(loss.sum(), params)
            with torch.no_grad():
                for p, g, (m, v) in zip(params, grads, moments):
                    _adam_update(p, g, m, v, step + 1, lr_now)
            taken += 1

        # 3. the best restart by full-resolution pixel loss
        with torch.inference_mode():
            yc = classes()
            x = G(z.detach(), None if yc is None else yc.detach())
            final = _pixel_loss(x, target, [1])
            k = int(final.argmin())
            recon = to_uint8(x[k : k + 1])[0]
    y_out = None
    if K > 0:
        y_out = (torch.softmax(logits, 1)[k] if learn_class else y_fixed[0]).detach().cpu().float()
    return Projection(
        z=z[k].detach().cpu().float(),
        y=y_out,
        recon=recon,
        loss=float(final[k]),
        seconds=time.perf_counter() - t0,
        steps=taken,
    )
