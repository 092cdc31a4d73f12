"""ToyConfig: everything that defines a 2D playground run, JSON round trip and range checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gan_core.config import LOSSES, PENALTIES, _JsonConfig
from gan_core.toy.distributions import DISTRIBUTIONS

# Fields that only change how the next steps are taken; the others rebuild the networks.
LIVE_FIELDS = ("loss", "penalty", "penalty_weight", "lr_g", "lr_d", "d_steps", "batch", "steps")


@dataclass
class ToyConfig(_JsonConfig):
    """A 2D GAN run: target, losses, regularisers, optimisation and network sizes.

    The defaults (non-saturating loss, zero-centred GP 1.0, TTUR 5e-4 / 2e-3, 2000 steps)
    cover all 8 ring modes for each of seeds 0 to 6 on CPU (about 13 s of one core); without
    the penalty and with equal learning rates, runs hop between modes and end with 2 to 8
    of them depending on the seed.
    """

    dist: str = "ring8"  # ring8 | grid25 | moons | spiral | custom
    loss: str = "ns"  # ns | minimax | lsgan | wgan | hinge (see gan_core.losses)
    penalty: str = "zero-gp"  # none | wgan-gp | zero-gp | r1; zero-GP keeps D smooth, against mode hopping
    penalty_weight: float = 1.0  # lambda of the GP (WGAN-GP uses 10), gamma of R1 (applied as gamma/2)
    sn: bool = False  # spectral normalisation of every D layer
    lr_g: float = 5e-4  # Adam learning rate of G
    lr_d: float = 2e-3  # Adam learning rate of D; faster than G (TTUR, Heusel et al. 2017)
    beta1: float = 0.5  # Adam beta1 (0.5, as DCGAN: less momentum keeps the game from oscillating)
    beta2: float = 0.999  # Adam beta2
    d_steps: int = 1  # D updates per G update (n_critic)
    batch: int = 256  # points per batch, real and generated
    layers: int = 3  # hidden layers of G and D
    width: int = 64  # units per hidden layer
    nz: int = 2  # latent size; 2 lets the view draw the latent grid as a mesh
    steps: int = 2000  # G steps of a run (the CLI's budget)
    seed: int = 0  # seeds weights, data, noise and penalties

    _checks: ClassVar[dict[str, Any]] = {
        "dist": DISTRIBUTIONS,
        "loss": LOSSES,
        "penalty": PENALTIES,
        "penalty_weight": (0.0, 1000.0),
        "lr_g": (0.0, 1.0),
        "lr_d": (0.0, 1.0),
        "beta1": (0.0, 0.9999),
        "beta2": (0.0, 0.99999),
        "d_steps": (1, 20),
        "batch": (2, 4096),
        "layers": (1, 8),
        "width": (2, 512),
        "nz": (1, 64),
        "steps": (1, 1_000_000),
        "seed": (0, 2**63 - 1),
    }

    def structural_diff(self, other: "ToyConfig") -> list[str]:
        """Fields that differ from `other` and need new networks (anything not in LIVE_FIELDS)."""
        a, b = self.to_dict(), other.to_dict()
        return [k for k in a if a[k] != b[k] and k not in LIVE_FIELDS]
