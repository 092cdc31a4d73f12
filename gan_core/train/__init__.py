"""Training: the Trainer (d_step, g_step, loop), run-folder callbacks, distributed helpers."""

from gan_core.train.trainer import Callback, Trainer

__all__ = ["Trainer", "Callback"]
