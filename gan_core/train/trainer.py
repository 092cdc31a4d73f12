"""The training loop: one function per update, the loop only orchestrates.

    (1) update D: maximise log D(x) + log(1 - D(G(z)))   (or the chosen loss), `d_step`
    (2) update G: maximise log D(G(z))                    (or the chosen loss), `g_step`

Batches come from the in-memory uint8 tensor (no per-step PIL or DataLoader work). Every
random draw comes from one of three CPU generators (batches, noise, augmentation) plus
torch's global RNG (dropout), all saved with the training state, so resume is exact.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from gan_core import losses
from gan_core.augment import diff_augment, hflip
from gan_core.config import ModelConfig, TrainConfig
from gan_core.data.imageset import ImageSet
from gan_core.device import autocast, resolve_precision
from gan_core.errors import TrainingError
from gan_core.models import build_aux_discriminator, build_models
from gan_core.train import state as state_io
from gan_core.train.distributed import DistInfo

SNAPSHOT_EVERY = 50  # steps between in-memory "last good state" snapshots for NaN rollback


class Callback:
    """Hooks called by `Trainer.run`; override what you need."""

    def on_start(self, trainer: "Trainer") -> None: ...

    def on_step(self, trainer: "Trainer", metrics: dict[str, Any]) -> None: ...

    def on_end(self, trainer: "Trainer", reason: str) -> None: ...


@dataclass
class _Snapshot:
    step: int
    tensors: dict[str, Tensor]


def _total_norm(params: Sequence[torch.nn.Parameter]) -> Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


class Trainer:
    """Trains a (G, D) pair described by `model_cfg` on `data` with `train_cfg`.

    `stop` is a callable checked every step (a threading.Event's `is_set`, say): when it
    returns True the run ends after the current step and callbacks see reason "stopped".
    """

    def __init__(
        self,
        model_cfg: ModelConfig,
        train_cfg: TrainConfig,
        data: ImageSet,
        *,
        device: str | torch.device = "cpu",
        callbacks: Sequence[Callback] = (),
        stop: Callable[[], bool] | None = None,
        dist: DistInfo | None = None,
    ):
        if data.channels != model_cfg.channels or data.res != model_cfg.res:
            raise TrainingError(
                f"the data is {data.channels}x{data.res}x{data.res} but the model expects "
                f"{model_cfg.channels}x{model_cfg.res}x{model_cfg.res}"
            )
        if model_cfg.conditional and model_cfg.num_classes != data.num_classes:
            raise TrainingError(
                f"the model has {model_cfg.num_classes} classes but the data has {data.num_classes}"
            )
        if len(data) == 0:
            raise TrainingError("the data set is empty")
        self.model_cfg, self.cfg, self.data = model_cfg, train_cfg, data
        self.device = torch.device(device)
        self.dist = dist or DistInfo()
        self.callbacks = list(callbacks)
        self.stop = stop or (lambda: False)
        self.amp_dtype = resolve_precision(train_cfg.precision, self.device)
        self.mem_format = torch.channels_last if train_cfg.channels_last else torch.contiguous_format
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes every step: let cuDNN pick its fastest kernels

        seed = train_cfg.seed
        self.G, self.D = build_models(model_cfg, seed)
        self.G.to(self.device, memory_format=self.mem_format)
        self.D.to(self.device, memory_format=self.mem_format)
        self.dist.broadcast_module(self.G)
        self.dist.broadcast_module(self.D)
        # FreezeD (Mo et al. 2020): keep the first D blocks fixed when fine-tuning
        for block in list(self.D.blocks)[: train_cfg.freeze_d]:
            block.requires_grad_(False)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if train_cfg.ema > 0 else None
        # Vision-aided GAN (Kumari et al. 2022): a second D judges frozen ImageNet features beside D;
        # it trains with D (one optimiser, separate parameters) and adds aux_d x its loss to G's
        self.D_aux = build_aux_discriminator(model_cfg, seed) if train_cfg.aux_d > 0 else None
        if self.D_aux is not None:
            self.D_aux.to(self.device, memory_format=self.mem_format)
            self.dist.broadcast_module(self.D_aux)
        self.g_params = [p for p in self.G.parameters() if p.requires_grad]
        self.d_params = [p for d in self._discriminators() for p in d.parameters() if p.requires_grad]
        betas = (train_cfg.beta1, train_cfg.beta2)
        self.opt_g = torch.optim.Adam(self.g_params, train_cfg.lr_g, betas, weight_decay=train_cfg.weight_decay)
        self.opt_d = torch.optim.Adam(self.d_params, train_cfg.lr_d, betas, weight_decay=train_cfg.weight_decay)

        # the training tensor stays uint8 (4x smaller than float); on CUDA it lives on the GPU
        self.images = torch.from_numpy(np.ascontiguousarray(data.images)).to(self.device)
        self.labels = torch.from_numpy(data.labels.astype(np.int64)).to(self.device)
        rank_seed = seed + 1_000_003 * self.dist.rank  # ranks draw different batches and noise
        self.gen_data = torch.Generator().manual_seed(rank_seed + 1)
        self.gen_noise = torch.Generator().manual_seed(rank_seed + 2)
        self.gen_aug = torch.Generator().manual_seed(rank_seed + 3)
        self.perm = torch.randperm(len(data), generator=self.gen_data)
        self.perm_pos = 0
        fixed_gen = torch.Generator().manual_seed(seed + 12_345)  # the same grid for the whole run
        self.fixed_z = torch.randn(train_cfg.n_fixed, model_cfg.nz, generator=fixed_gen)
        self.fixed_y = (
            torch.arange(train_cfg.n_fixed) % model_cfg.num_classes if model_cfg.conditional else None
        )
        torch.manual_seed(rank_seed)  # global RNG: dropout

        self.data_source = ""  # where the data came from (a path), recorded for resume
        self.step = 0
        self.elapsed = 0.0  # training seconds over all sessions of this run (resume adds up)
        self.rollbacks = 0
        self.events: list[dict[str, Any]] = []  # rollbacks and other notable happenings
        self._snapshot: _Snapshot | None = None
        self._ips_ema: float | None = None

    def _discriminators(self) -> list[torch.nn.Module]:
        return [self.D] if self.D_aux is None else [self.D, self.D_aux]

    # ------------------------------------------------------------------ data

    def next_batch(self) -> tuple[Tensor, Tensor | None]:
        """Real images in [-1, 1], (B, C, H, W), and their labels (B,) when conditional."""
        n, b = len(self.images), self.cfg.batch_size
        if n < b:  # tiny sets (fewer images than a batch) sample with replacement
            idx = torch.randint(0, n, (b,), generator=self.gen_data)
        else:
            if self.perm_pos + b > n:  # a new epoch: reshuffle, as DataLoader(shuffle=True) does
                self.perm = torch.randperm(n, generator=self.gen_data)
                self.perm_pos = 0
            idx = self.perm[self.perm_pos : self.perm_pos + b]
            self.perm_pos += b
        idx = idx.to(self.device)
        x = self.images.index_select(0, idx).float().div_(127.5).sub_(1.0)
        x = x.contiguous(memory_format=self.mem_format)
        if self.cfg.hflip:
            x = hflip(x, self.gen_aug)
        y = self.labels.index_select(0, idx) if self.model_cfg.conditional else None
        return x, y

    def data_tensor(self, index: int) -> Tensor:
        """Training image `index` in [-1, 1], (1, C, H, W), on the CPU."""
        return self.images[index : index + 1].float().cpu() / 127.5 - 1.0

    def noise(self, b: int) -> Tensor:
        return torch.randn(b, self.model_cfg.nz, generator=self.gen_noise).to(self.device)

    def augment(self, x: Tensor) -> Tensor:
        return diff_augment(x, self.cfg.diffaug, self.gen_aug) if self.cfg.diffaug else x

    # ------------------------------------------------------------------ updates

    def d_step(self, real: Tensor, fake: Tensor, y: Tensor | None) -> dict[str, Tensor]:
        """(1) Update D on real images and (detached) fakes; returns 0-dim tensors."""
        cfg = self.cfg
        self.opt_d.zero_grad(set_to_none=True)
        real_aug, fake_aug = self.augment(real), self.augment(fake)
        with autocast(self.device, self.amp_dtype):
            s_real = self.D(real_aug, y).float()
            s_fake = self.D(fake_aug, y).float()
        loss = losses.d_loss(cfg.loss, s_real, s_fake, cfg.label_smoothing)
        penalty = torch.zeros((), device=self.device)
        if cfg.penalty != "none" and cfg.penalty_weight > 0:
            critic = lambda x: self.D(x, y).float()  # noqa: E731 -- penalties run in fp32
            if cfg.penalty == "r1":  # gamma / 2 * E ||grad D(x)||^2
                penalty = 0.5 * cfg.penalty_weight * losses.r1_penalty(critic, real_aug)
            else:
                alpha = torch.rand(real.shape[0], 1, 1, 1, generator=self.gen_aug).to(self.device)
                center = 1.0 if cfg.penalty == "wgan-gp" else 0.0
                gp = losses.gradient_penalty(critic, real_aug, fake_aug, alpha, center)
                penalty = cfg.penalty_weight * gp
        total = loss + penalty
        out_aux = {}
        if self.D_aux is not None:
            with autocast(self.device, self.amp_dtype):
                a_real = self.D_aux(real_aug, y).float()
                a_fake = self.D_aux(fake_aug, y).float()
            loss_aux = losses.d_loss(cfg.loss, a_real, a_fake, cfg.label_smoothing)
            total = total + loss_aux
            out_aux = {"loss_d_aux": loss_aux.detach(), "d_aux_real": torch.sigmoid(a_real.detach()).mean(),
                       "d_aux_fake": torch.sigmoid(a_fake.detach()).mean()}
        total.backward()
        self.dist.average_gradients(self.d_params)
        grad_norm = _total_norm(self.d_params)
        if torch.isfinite(total) and torch.isfinite(grad_norm):  # never apply a non-finite update
            self.opt_d.step()
        return {
            "loss_d": loss.detach(),
            "penalty": penalty.detach(),
            "d_real": torch.sigmoid(s_real.detach()).mean(),
            "d_fake": torch.sigmoid(s_fake.detach()).mean(),
            "grad_norm_d": grad_norm,
            **out_aux,
        }

    def g_step(self, fake: Tensor, y: Tensor | None, real: Tensor | None = None) -> dict[str, Tensor]:
        """(2) Update G through D on `fake` (which still carries G's graph)."""
        cfg = self.cfg
        self.opt_g.zero_grad(set_to_none=True)
        for d in self._discriminators():
            d.requires_grad_(False)  # no D gradients are needed for G's update
        try:
            fake_aug = self.augment(fake)
            with autocast(self.device, self.amp_dtype):
                if cfg.feature_matching > 0:
                    s_fake, f_fake = self.D(fake_aug, y, return_features=True)
                    with torch.no_grad():
                        _, f_real = self.D(self.augment(real), y, return_features=True)
                else:
                    s_fake = self.D(fake_aug, y)
                a_fake = self.D_aux(fake_aug, y) if self.D_aux is not None else None
            loss = losses.g_loss(cfg.loss, s_fake.float())
            if a_fake is not None:
                loss = loss + cfg.aux_d * losses.g_loss(cfg.loss, a_fake.float())
            if cfg.feature_matching > 0:
                loss = loss + cfg.feature_matching * losses.feature_matching(f_real, f_fake)
            loss.backward()
        finally:
            for p in self.d_params:
                p.requires_grad_(True)
        self.dist.average_gradients(self.g_params)
        grad_norm = _total_norm(self.g_params)
        if torch.isfinite(loss) and torch.isfinite(grad_norm):
            self.opt_g.step()
        return {"loss_g": loss.detach(), "grad_norm_g": grad_norm}

    def _set_lr(self) -> None:
        f = losses.lr_factor(self.cfg.schedule, self.step, self.cfg.steps)
        for group in self.opt_g.param_groups:
            group["lr"] = self.cfg.lr_g * f
        for group in self.opt_d.param_groups:
            group["lr"] = self.cfg.lr_d * f

    def train_step(self) -> dict[str, Any]:
        """One generator step (after `d_steps` discriminator steps); returns plain floats.

        The fake batch of the last D step is reused for the G step, as in pytorch/examples'
        dcgan: one G forward per iteration instead of two.
        """
        t0 = time.perf_counter()
        self._set_lr()
        self.G.train()
        for d in self._discriminators():
            d.train()
        for block in list(self.D.blocks)[: self.cfg.freeze_d]:
            block.eval()  # frozen all through: no batch-norm statistics, no spectral-norm power iteration
        for k in range(self.cfg.d_steps):
            real, y = self.next_batch()
            z = self.noise(real.shape[0])
            last = k == self.cfg.d_steps - 1
            with autocast(self.device, self.amp_dtype), torch.set_grad_enabled(last):
                fake = self.G(z, y)
            d_out = self.d_step(real, fake.detach(), y)
        g_out = self.g_step(fake, y, real)
        if self.G_ema is not None:
            beta = losses.ema_beta(self.cfg.ema, self.step, self.cfg.ema_rampup)
            losses.ema_update(self.G_ema, self.G, beta)
        values = {**d_out, **g_out}
        names = list(values)
        floats = torch.stack([v.float().cpu() for v in values.values()]).tolist()  # one sync
        m: dict[str, Any] = dict(zip(names, floats))
        dt = time.perf_counter() - t0
        self.elapsed += dt
        self.step += 1
        ips = self.cfg.batch_size * self.cfg.d_steps * self.dist.world_size / max(dt, 1e-9)
        self._ips_ema = ips if self._ips_ema is None else 0.9 * self._ips_ema + 0.1 * ips
        m.update(step=self.step, images_per_s=self._ips_ema, elapsed=self.elapsed,
                 lr_g=self.opt_g.param_groups[0]["lr"], lr_d=self.opt_d.param_groups[0]["lr"])
        return m

    # ------------------------------------------------------------------ NaN guard

    def _take_snapshot(self) -> None:
        self._snapshot = _Snapshot(self.step, {k: v.clone() for k, v in self.state_tensors(rng=False).items()})

    def _rollback(self, m: dict[str, Any]) -> dict[str, Any]:
        """Restore the last good state after a non-finite loss; stop after too many in a row."""
        self.rollbacks += 1
        bad = [k for k in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g") if not math.isfinite(m[k])]
        event = {"event": "rollback", "step": m["step"], "to_step": self._snapshot.step,
                 "reason": f"non-finite {', '.join(bad)}"}
        self.events.append(event)
        if self.rollbacks > self.cfg.max_rollbacks:
            raise TrainingError(
                f"training diverged: the losses became NaN or infinite {self.rollbacks} times "
                f"(last at step {m['step']}), even after rolling back. Try a lower learning rate "
                "(especially D's), a gradient penalty or spectral normalisation, or the hinge loss."
            )
        self.load_state_tensors(self._snapshot.tensors, rng=False)
        self.step = self._snapshot.step
        return {**m, **event, "step": self.step}

    # ------------------------------------------------------------------ the loop

    def run(self, steps: int | None = None, seconds: float | None = None) -> Iterator[dict[str, Any]]:
        """Train until `steps` (default: the config's) or `seconds` (default: its minutes) pass.

        Yields each step's metrics so a UI can stream them and the CLI can print them.
        """
        target = self.cfg.steps if steps is None else steps
        budget = seconds if seconds is not None else (self.cfg.minutes * 60 or None)
        start = time.perf_counter()
        for cb in self.callbacks:
            cb.on_start(self)
        reason = "done"
        try:
            while self.step < target:
                if self.stop():
                    reason = "stopped"
                    break
                if budget is not None and time.perf_counter() - start >= budget:
                    reason = "time"
                    break
                if self._snapshot is None or self.step - self._snapshot.step >= SNAPSHOT_EVERY:
                    self._take_snapshot()
                m = self.train_step()
                if not all(math.isfinite(m[k]) for k in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g")):
                    m = self._rollback(m)
                left = (target - self.step) * self.cfg.batch_size * self.cfg.d_steps / max(m["images_per_s"], 1e-9)
                if budget is not None:
                    left = min(left, budget - (time.perf_counter() - start))
                m["eta"] = max(left, 0.0)
                for cb in self.callbacks:
                    cb.on_step(self, m)
                yield m
        except BaseException:
            reason = "error"
            raise
        finally:
            for cb in self.callbacks:
                cb.on_end(self, reason)

    # ------------------------------------------------------------------ sampling

    def sampling_generator(self) -> torch.nn.Module:
        """The generator used for all output: the EMA copy when EMA is on."""
        return self.G_ema if self.G_ema is not None else self.G

    @torch.no_grad()
    def sample_fixed(self) -> Tensor:
        """The fixed-z grid's images in [-1, 1], (n_fixed, C, H, W), on CPU, float32."""
        g = self.sampling_generator()
        was_training = g.training
        g.eval()
        try:
            z = self.fixed_z.to(self.device)
            y = None if self.fixed_y is None else self.fixed_y.to(self.device)
            with autocast(self.device, self.amp_dtype):
                return g(z, y).float().cpu()
        finally:
            g.train(was_training)

    def weight_stats(self, bins: int = 30) -> list[dict[str, Any]]:
        """Per-layer weight histograms of G and D (for the app's histograms)."""
        out = []
        for net_name, net in (("G", self.G), ("D", self.D)):
            for name, p in net.named_parameters():
                if p.dim() < 2:
                    continue
                w = p.detach().float().cpu().flatten()
                lo, hi = float(w.min()), float(w.max())
                counts = torch.histc(w, bins=bins, min=lo, max=hi if hi > lo else lo + 1e-6)
                out.append({"net": net_name, "layer": name, "mean": float(w.mean()), "std": float(w.std()),
                            "min": lo, "max": hi, "counts": counts.tolist()})
        return out

    # ------------------------------------------------------------------ state

    def state_tensors(self, rng: bool = True) -> dict[str, Tensor]:
        """Everything that changes during training, as named tensors (see state.py)."""
        t = {}
        t.update(state_io.prefixed("G.", self.G.state_dict()))
        t.update(state_io.prefixed("D.", self.D.state_dict()))
        if self.D_aux is not None:
            t.update(state_io.prefixed("D_aux.", self.D_aux.state_dict()))
        if self.G_ema is not None:
            t.update(state_io.prefixed("G_ema.", self.G_ema.state_dict()))
        t.update(state_io.optimizer_tensors("opt_g.", self.opt_g))
        t.update(state_io.optimizer_tensors("opt_d.", self.opt_d))
        if rng:
            t["rng.data"] = self.gen_data.get_state()
            t["rng.noise"] = self.gen_noise.get_state()
            t["rng.aug"] = self.gen_aug.get_state()
            t["rng.torch"] = torch.get_rng_state()
            t["batch.perm"] = self.perm.clone()
        return t

    def state_meta(self) -> dict[str, Any]:
        return {"step": self.step, "elapsed": self.elapsed, "perm_pos": self.perm_pos,
                "data_source": self.data_source,
                "opt_g": state_io.optimizer_meta(self.opt_g), "opt_d": state_io.optimizer_meta(self.opt_d),
                "model": self.model_cfg.to_dict(), "train": self.cfg.to_dict()}

    def load_state_tensors(self, t: dict[str, Tensor], rng: bool = True, meta: dict | None = None) -> None:
        self.G.load_state_dict(state_io.unprefixed("G.", t))
        self.D.load_state_dict(state_io.unprefixed("D.", t))
        if self.D_aux is not None:
            self.D_aux.load_state_dict(state_io.unprefixed("D_aux.", t))
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state_io.unprefixed("G_ema.", t))
        state_io.load_optimizer(self.opt_g, "opt_g.", t, meta["opt_g"] if meta else None)
        state_io.load_optimizer(self.opt_d, "opt_d.", t, meta["opt_d"] if meta else None)
        if rng:
            self.gen_data.set_state(t["rng.data"])
            self.gen_noise.set_state(t["rng.noise"])
            self.gen_aug.set_state(t["rng.aug"])
            torch.set_rng_state(t["rng.torch"])
            self.perm = t["batch.perm"].clone()

    def restore(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        """Continue a run from `checkpoint.load_training_state`'s output, exactly."""
        try:
            self.load_state_tensors(tensors, rng=True, meta=meta)
        except (KeyError, RuntimeError, ValueError) as e:
            raise TrainingError(f"cannot resume: the saved state does not match this model ({e})") from None
        self.step, self.elapsed, self.perm_pos = int(meta["step"]), float(meta["elapsed"]), int(meta["perm_pos"])
