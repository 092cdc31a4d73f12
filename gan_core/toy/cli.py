"""`python -m gan_core toy`: train a GAN on a 2D distribution and print mode coverage.

    python -m gan_core toy --dist ring8 --loss ns --steps 2000 --seed 0
    python -m gan_core toy --dist custom --points my_points.csv --penalty r1 --frame out.png
"""

from __future__ import annotations

import argparse
import json
import time

from gan_core.config import LOSSES, PENALTIES
from gan_core.toy.config import ToyConfig
from gan_core.toy.distributions import DISTRIBUTIONS, make_distribution, read_points_csv

_DEFAULTS = ToyConfig()


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    a = parser.add_argument
    a("--dist", choices=DISTRIBUTIONS, default=_DEFAULTS.dist, help="target distribution (default %(default)s)")
    a("--points", metavar="CSV", help="CSV of two numeric columns for --dist custom (normalised to the view)")
    a("--loss", choices=LOSSES, default=_DEFAULTS.loss, help="adversarial loss (default %(default)s)")
    a("--penalty", choices=PENALTIES, default=_DEFAULTS.penalty, help="gradient penalty on D (default %(default)s)")
    a("--penalty-weight", type=float, default=_DEFAULTS.penalty_weight,
      help="lambda of the GP, gamma of R1 (default %(default)s)")
    a("--sn", action="store_true", help="spectral normalisation of every D layer")
    a("--lr-g", type=float, default=_DEFAULTS.lr_g, help="G learning rate (default %(default)s)")
    a("--lr-d", type=float, default=_DEFAULTS.lr_d, help="D learning rate (default %(default)s)")
    a("--beta1", type=float, default=_DEFAULTS.beta1, help="Adam beta1 (default %(default)s)")
    a("--beta2", type=float, default=_DEFAULTS.beta2, help="Adam beta2 (default %(default)s)")
    a("--d-steps", type=int, default=_DEFAULTS.d_steps, help="D steps per G step (default %(default)s)")
    a("--batch", type=int, default=_DEFAULTS.batch, help="points per batch (default %(default)s)")
    a("--layers", type=int, default=_DEFAULTS.layers, help="hidden layers of G and D (default %(default)s)")
    a("--width", type=int, default=_DEFAULTS.width, help="units per hidden layer (default %(default)s)")
    a("--nz", type=int, default=_DEFAULTS.nz, help="latent size (default %(default)s)")
    a("--steps", type=int, default=_DEFAULTS.steps, help="G steps (default %(default)s)")
    a("--seed", type=int, default=_DEFAULTS.seed, help="seed of weights, data and noise (default %(default)s)")
    a("--threads", type=int, default=1,
      help="torch CPU threads (default 1: these tiny networks only lose time to thread sync)")
    a("--frame", metavar="PNG", help="also write the final view (D heatmap, points, arrows, mesh) here")
    a("--json", action="store_true", help="print the result as one JSON object")


def run(args: argparse.Namespace, name: str) -> int:
    import numpy as np
    import torch

    from gan_core.cli import UserError
    from gan_core.toy.trainer import ToyTrainer

    cfg = ToyConfig.from_dict({
        "dist": args.dist, "loss": args.loss, "penalty": args.penalty, "penalty_weight": args.penalty_weight,
        "sn": args.sn, "lr_g": args.lr_g, "lr_d": args.lr_d, "beta1": args.beta1, "beta2": args.beta2,
        "d_steps": args.d_steps, "batch": args.batch, "layers": args.layers, "width": args.width,
        "nz": args.nz, "steps": args.steps, "seed": args.seed,
    })
    if args.points and args.dist != "custom":
        raise UserError("--points is only used with --dist custom")
    if args.threads < 1:
        raise UserError("--threads must be at least 1")
    points = read_points_csv(args.points) if args.points else None
    dist = make_distribution(cfg.dist, points)
    torch.set_num_threads(args.threads)  # this process is ours: the CLI owns its thread count

    trainer = ToyTrainer(cfg, dist)
    t0 = time.perf_counter()
    last = trainer.run(cfg.steps)
    seconds = time.perf_counter() - t0
    coverage = trainer.evaluate()
    result = {
        "dist": cfg.dist, "loss": cfg.loss, "penalty": cfg.penalty, "steps": cfg.steps, "seed": cfg.seed,
        "seconds": round(seconds, 2), "d_loss": last["d_loss"], "g_loss": last["g_loss"],
    }
    if coverage is not None:
        result.update(modes_covered=coverage["modes_covered"], num_modes=coverage["num_modes"],
                      high_quality_pct=round(coverage["high_quality_pct"], 1))
    if args.frame:
        from PIL import Image

        from gan_core.toy.render import ViewOptions, render_view

        frame = render_view(trainer, ViewOptions(label=f"{cfg.dist} {cfg.loss} step {cfg.steps}"))
        try:
            Image.fromarray(frame).save(args.frame)
        except (OSError, ValueError) as e:  # missing folder, unknown extension
            raise UserError(f"cannot write --frame {args.frame}: {e}") from None
        result["frame"] = args.frame
    if not np.isfinite([last["d_loss"], last["g_loss"]]).all():
        result["warning"] = "the losses diverged (nan/inf); lower the learning rates or add a penalty"
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{cfg.dist}: {cfg.loss} loss, penalty {cfg.penalty}, {cfg.steps} steps, seed {cfg.seed} "
          f"({seconds:.1f} s)")
    if coverage is None:
        print("this distribution has no discrete modes: modes covered does not apply")
    else:
        print(f"modes covered: {coverage['modes_covered']}/{coverage['num_modes']}")
        print(f"high quality: {coverage['high_quality_pct']:.1f}% of {len(trainer.z_eval)} samples "
              f"within 3 std of a mode")
    print(f"final losses: D {last['d_loss']:.4f}, G {last['g_loss']:.4f}")
    if "warning" in result:
        print("warning:", result["warning"])
    if args.frame:
        print(f"view written to {args.frame}")
    return 0
