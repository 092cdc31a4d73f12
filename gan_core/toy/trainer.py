"""ToyTrainer: a 2D GAN that takes one step at a time, for the playground and the CLI.

One `step()` is one generator update preceded by `d_steps` discriminator updates:

  (1) update D, d_steps times: minimise L_D(D(x), D(G(z))) + penalty
      (for ns/minimax: maximise log D(x) + log(1 - D(G(z))))
  (2) update G once: minimise L_G(D(G(z))) (ns: -log D(G(z)); minimax: log(1 - D(G(z))))

All randomness comes from the seed: weights and noise from one `torch.Generator`, real
batches from one `np.random.Generator`; nothing touches global RNG state, so a run is
reproducible on CPU and two trainers with the same seed see the same data (A/B mode).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from gan_core.losses import d_loss, g_loss, gradient_penalty, r1_penalty
from gan_core.toy.config import ToyConfig
from gan_core.toy.distributions import Distribution, make_distribution
from gan_core.toy.models import ToyDiscriminator, ToyGenerator

EVAL_SAMPLES = 2500  # generated points behind modes covered / % high quality (VEEGAN, PacGAN use 2500)
VIEW_POINTS = 512  # real and generated points drawn in the view


def mode_coverage(samples: np.ndarray, dist: Distribution) -> dict | None:
    """Modes covered and % high-quality samples of `samples` (N, 2), or None without modes.

    The one call site of the shared metric (gan_core.metrics.modes).
    """
    if not dist.has_modes:
        return None
    from gan_core.metrics.modes import toy_mode_coverage

    return toy_mode_coverage(samples, dist.centers, dist.std)


class History:
    """Per-step scalars for the loss curves, bounded: when full, every other entry is dropped."""

    def __init__(self, capacity: int = 2000):
        self.capacity = capacity
        self.stride = 1  # steps between kept entries
        self.rows: list[dict[str, float]] = []

    def add(self, row: dict[str, float]) -> None:
        if int(row["step"]) % self.stride:
            return
        self.rows.append(row)
        if len(self.rows) >= self.capacity:
            self.stride *= 2
            self.rows = [r for r in self.rows if int(r["step"]) % self.stride == 0]

    def column(self, key: str) -> np.ndarray:
        return np.array([r[key] for r in self.rows], dtype=np.float64)


class ToyTrainer:
    """Owns G, D, their optimisers and the random streams of one 2D run."""

    def __init__(self, cfg: ToyConfig, dist: Distribution | None = None):
        self.cfg = cfg
        self.dist = dist if dist is not None else make_distribution(cfg.dist)
        self.gen = torch.Generator().manual_seed(cfg.seed)  # weights, z, penalty interpolation
        self.rng = np.random.default_rng(cfg.seed)  # real batches
        self.G = ToyGenerator(cfg.nz, cfg.width, cfg.layers, self.gen)
        self.D = ToyDiscriminator(cfg.width, cfg.layers, cfg.sn, self.gen)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        # Fixed inputs for the view and the metrics, from their own seeded streams, so the
        # picture and the numbers move only because the networks do.
        view_gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.z_view = torch.randn(VIEW_POINTS, cfg.nz, generator=view_gen)  # (P, nz)
        self.z_eval = torch.randn(EVAL_SAMPLES, cfg.nz, generator=view_gen)  # (E, nz)
        self.real_view = self.dist.sample(VIEW_POINTS, np.random.default_rng(cfg.seed + 1))  # (P, 2)
        self.step_count = 0
        self.history = History()

    def apply(self, cfg: ToyConfig) -> None:
        """Switch live settings (loss, penalty, learning rates, D steps, batch) without a restart."""
        changed = cfg.structural_diff(self.cfg)
        if changed:
            raise ValueError(f"changing {', '.join(changed)} needs a new trainer")
        for group in self.opt_g.param_groups:
            group["lr"] = cfg.lr_g
        for group in self.opt_d.param_groups:
            group["lr"] = cfg.lr_d
        self.cfg = cfg

    def _real(self, n: int) -> Tensor:
        return torch.from_numpy(self.dist.sample(n, self.rng))  # (n, 2)

    def _z(self, n: int) -> Tensor:
        return torch.randn(n, self.cfg.nz, generator=self.gen)  # (n, nz)

    def _penalty(self, real: Tensor, fake: Tensor) -> Tensor:
        """The regulariser of D's gradient, already weighted."""
        kind, w = self.cfg.penalty, self.cfg.penalty_weight
        if kind == "none" or w == 0.0:
            return real.new_zeros(())
        if kind == "r1":  # gamma/2 E||grad D(x)||^2 on real points (Mescheder et al. 2018)
            return 0.5 * w * r1_penalty(self.D, real)
        alpha = torch.rand(real.shape[0], 1, generator=self.gen)  # (B, 1): one mix per pair
        center = 1.0 if kind == "wgan-gp" else 0.0
        return w * gradient_penalty(self.D, real, fake, alpha, center)

    def d_step(self) -> dict[str, float]:
        """(1) One D update: minimise L_D + penalty on a fresh real batch and fresh fakes."""
        b = self.cfg.batch
        real = self._real(b)
        with torch.no_grad():
            fake = self.G(self._z(b))  # (B, 2)
        s_real, s_fake = self.D(real), self.D(fake)  # (B,) raw scores
        loss = d_loss(self.cfg.loss, s_real, s_fake)
        pen = self._penalty(real, fake)
        self.opt_d.zero_grad(set_to_none=True)
        (loss + pen).backward()
        self.opt_d.step()
        return {"d_loss": loss.item(), "penalty": pen.item(),
                "d_real": s_real.mean().item(), "d_fake": s_fake.mean().item()}

    def g_step(self) -> dict[str, float]:
        """(2) One G update: minimise L_G(D(G(z))). Also reports ||dL_G/dx|| per generated point."""
        b = self.cfg.batch
        fake = self.G(self._z(b))  # (B, 2)
        fake.retain_grad()
        loss = g_loss(self.cfg.loss, self.D(fake))
        self.opt_g.zero_grad(set_to_none=True)
        self.D.requires_grad_(False)  # D's weights get no gradient from G's step
        loss.backward()
        self.D.requires_grad_(True)
        self.opt_g.step()
        # the loss is a batch mean: scale by B for the gradient of each point's own loss
        grad = fake.grad.norm(dim=1).mean().item() * b
        return {"g_loss": loss.item(), "g_grad": grad}

    def step(self) -> dict[str, float]:
        """d_steps D updates then one G update; returns the step's scalars (last D update's)."""
        self.G.train()
        self.D.train()
        for _ in range(self.cfg.d_steps):
            d_metrics = self.d_step()
        g_metrics = self.g_step()
        self.step_count += 1
        row = {"step": float(self.step_count), **d_metrics, **g_metrics}
        self.history.add(row)
        return row

    def run(self, steps: int) -> dict[str, float]:
        """`steps` steps; returns the last step's scalars."""
        row: dict[str, float] = {}
        for _ in range(steps):
            row = self.step()
        return row

    @torch.no_grad()
    def generate(self, z: Tensor) -> np.ndarray:
        """G(z) as float32 (N, 2), without touching training state."""
        was_training = self.G.training
        self.G.eval()
        out = self.G(z).numpy()
        self.G.train(was_training)
        return out

    def evaluate(self) -> dict | None:
        """Modes covered and % high quality on EVAL_SAMPLES fixed latents; None without modes."""
        return mode_coverage(self.generate(self.z_eval), self.dist)
