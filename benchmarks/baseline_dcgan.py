"""The reference we measure ourselves against: the pytorch/examples DCGAN training loop.

A faithful re-implementation, written by us, of github.com/pytorch/examples/blob/main/dcgan/main.py
as run with `--dataset folder`:
- input: torchvision ImageFolder with Resize(res), CenterCrop(res), ToTensor,
  Normalize((0.5,)*3, (0.5,)*3); DataLoader(batch_size, shuffle=True, num_workers=2),
  last partial batch kept (the example does not drop it), workers restarted every epoch;
- models: its Generator (ConvTranspose-BN-ReLU, tanh) and Discriminator (Conv-BN-LeakyReLU
  0.2, Sigmoid output), built G first then D, each followed by `weights_init`
  (conv weights N(0, 0.02), BN weight N(1, 0.02), BN bias 0), nz 100, ngf = ndf = 64;
- loss and optimisers: nn.BCELoss, Adam lr 2e-4, betas (0.5, 0.999) for both;
- loop: (1) D on real (label 1) then on fake.detach() (label 0), one optimiser step;
  (2) G on the same `fake` with label 1 (the non-saturating loss); the `.item()` read-outs
  of D(x), D(G(z1)), D(G(z2)) every iteration; every 100 iterations G is run on the fixed
  noise, in train mode and with autograd on, as the example does before saving its grid.
  Its per-iteration console line is left out (the losses go to the callback instead), and
  its PNG grids and per-epoch checkpoints are written only when `out_dir` is given.
At res 64 this is the example exactly. Other powers of two (16..128) add or remove the
middle layers (the example itself only supports 64).

`run_baseline` times it (steady-state images/s after a few warm-up iterations, the
DataLoader included) and can hand the generator to a callback, whose time is not counted.
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

NZ, NGF, NDF = 100, 64, 64  # the example's defaults
LR, BETA1 = 2e-4, 0.5


def _depth(res: int) -> int:
    if res not in (16, 32, 64, 128):
        raise ValueError(f"the DCGAN baseline supports res 16, 32, 64 or 128, got {res}")
    return int(math.log2(res)) - 3  # stride-2 blocks between the 4x4 stem and the output layer


class Generator(nn.Module):
    """z (B, nz, 1, 1) -> images (B, nc, res, res) in [-1, 1]; the example's netG at res 64."""

    def __init__(self, nz: int = NZ, ngf: int = NGF, nc: int = 3, res: int = 64) -> None:
        super().__init__()
        mult = 2 ** _depth(res)  # 8 at res 64: ngf*8 channels at 4x4
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * mult), nn.ReLU(True)]
        while mult > 1:
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * mult // 2), nn.ReLU(True)]
            mult //= 2
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class Discriminator(nn.Module):
    """images (B, nc, res, res) -> probability real (B,); the example's netD at res 64."""

    def __init__(self, ndf: int = NDF, nc: int = 3, res: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        for _ in range(_depth(res)):
            layers += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * mult * 2), nn.LeakyReLU(0.2, inplace=True)]
            mult *= 2
        layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1, 1).squeeze(1)


def weights_init(m: nn.Module) -> None:
    """The example's init, matched on class names as it does: conv N(0, 0.02), BN N(1, 0.02), 0."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def image_folder_loader(data_dir: str | Path, res: int, batch_size: int, workers: int) -> torch.utils.data.DataLoader:
    """The example's input pipeline for `--dataset folder`."""
    import torchvision.datasets as dset
    import torchvision.transforms as transforms

    dataset = dset.ImageFolder(
        root=str(data_dir),
        transform=transforms.Compose([
            transforms.Resize(res),
            transforms.CenterCrop(res),
            transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]),
    )
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=int(workers))


def write_image_folder(imageset, root: str | Path) -> Path:
    """Write an ImageSet as ImageFolder PNGs, root/<class name>/<index>.png; returns root.

    The baseline trains unconditionally, so the folders only mirror the labels.
    """
    from PIL import Image

    root = Path(root)
    for k in np.unique(imageset.labels):  # only classes with images: ImageFolder rejects empty ones
        (root / imageset.class_names[k].replace("/", "_")).mkdir(parents=True, exist_ok=True)
    for i, (img, label) in enumerate(zip(imageset.images, imageset.labels)):
        arr = img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))  # (H, W) or (H, W, 3)
        Image.fromarray(np.ascontiguousarray(arr)).save(root / imageset.class_names[label].replace("/", "_") / f"{i:06d}.png")
    return root


Callback = Callable[[int, nn.Module, dict], "bool | None"]


def run_baseline(
    data_dir: str | Path,
    *,
    steps: int | None = None,
    seconds: float | None = None,
    res: int = 64,
    batch_size: int = 64,
    workers: int = 2,
    threads: int = 2,
    seed: int = 0,
    warmup: int = 5,
    callback: Callback | None = None,
    callback_every: int = 100,
    out_dir: str | Path | None = None,
) -> dict:
    """Train the example's DCGAN on an ImageFolder until `steps` iterations or `seconds` pass.

    steps / seconds: stop at whichever comes first (at least one is required); seconds
      count training time only, not callbacks.
    threads: torch intra-op threads for the run (restored afterwards).
    warmup: iterations excluded from the steady-state rate (first batches, allocator,
      worker start-up).
    callback(step, netG, info) is called every `callback_every` iterations and at the end,
      with the global RNG forked (it cannot change the run) and its time excluded; info has
      the losses, images seen and train_seconds; returning True stops the run. netG is put
      back in train mode afterwards.
    out_dir: if given, write the example's real_samples.png / fake_samples_epoch_*.png and
      per-epoch state dicts there, as the example does; None skips the writes.

    Returns a dict: steps, images, train_seconds, images_per_s (steady state), warmup,
    the last losses (errD, errG, D_x, D_G_z1, D_G_z2), and "netG" (the generator).
    """
    if steps is None and seconds is None:
        raise ValueError("give steps or seconds (or both)")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    py_state = random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):  # the example seeds the global RNGs; keep ours
            random.seed(seed)
            torch.manual_seed(seed)
            return _train(data_dir, steps, seconds, res, batch_size, workers, warmup, callback, callback_every, out_dir)
    finally:
        random.setstate(py_state)
        torch.set_num_threads(previous_threads)


def _train(data_dir, steps, seconds, res, batch_size, workers, warmup, callback, callback_every, out_dir) -> dict:
    dataloader = image_folder_loader(data_dir, res, batch_size, workers)
    nc = 3
    netG = Generator(NZ, NGF, nc, res)
    netG.apply(weights_init)
    netD = Discriminator(NDF, nc, res)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(batch_size, NZ, 1, 1)
    real_label, fake_label = 1, 0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=LR, betas=(BETA1, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=LR, betas=(BETA1, 0.999))
    if out_dir is not None:
        import torchvision.utils as vutils

        Path(out_dir).mkdir(parents=True, exist_ok=True)

    step = images = warm_images = 0
    cb_time = 0.0
    t_start = time.perf_counter()
    t_warm: float | None = None
    last: dict = {}
    stop = False

    def train_seconds() -> float:
        return time.perf_counter() - t_start - cb_time

    def call_back() -> bool:
        nonlocal cb_time
        t0 = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            verdict = callback(step, netG, {**last, "images": images, "train_seconds": train_seconds()})
        netG.train()
        cb_time += time.perf_counter() - t0
        return bool(verdict)

    epoch = 0
    while not stop:
        for i, data in enumerate(dataloader, 0):
            ############################
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            ###########################
            # train with real
            netD.zero_grad()
            real_cpu = data[0]
            b = real_cpu.size(0)
            label = torch.full((b,), real_label, dtype=real_cpu.dtype)
            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()

            # train with fake
            noise = torch.randn(b, NZ, 1, 1)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()

            ############################
            # (2) Update G network: maximize log(D(G(z)))
            ###########################
            netG.zero_grad()
            label.fill_(real_label)  # fake labels are real for generator cost
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()

            last = {"errD": errD.item(), "errG": errG.item(), "D_x": D_x, "D_G_z1": D_G_z1, "D_G_z2": D_G_z2}
            if i % 100 == 0:
                fake = netG(fixed_noise)  # the example's fixed-noise grid (train mode, autograd on)
                if out_dir is not None:
                    vutils.save_image(real_cpu, f"{out_dir}/real_samples.png", normalize=True)
                    vutils.save_image(fake.detach(), f"{out_dir}/fake_samples_epoch_{epoch:03d}.png", normalize=True)

            step += 1
            images += b
            if step == warmup:
                t_warm, warm_images = time.perf_counter() - cb_time, images
            if callback is not None and step % callback_every == 0 and call_back():
                stop = True
            if (steps is not None and step >= steps) or (seconds is not None and train_seconds() >= seconds):
                stop = True
            if stop:
                break
        if out_dir is not None:
            torch.save(netG.state_dict(), f"{out_dir}/netG_epoch_{epoch}.pth")
            torch.save(netD.state_dict(), f"{out_dir}/netD_epoch_{epoch}.pth")
        epoch += 1

    t_end = time.perf_counter() - cb_time
    total = t_end - t_start
    if t_warm is not None and step > warmup:
        rate = (images - warm_images) / (t_end - t_warm)
    else:  # too short for a steady state: report the overall rate
        rate = images / total
    if callback is not None and step % callback_every != 0:
        call_back()
    return {
        "steps": step,
        "images": images,
        "epochs": epoch,
        "train_seconds": total,
        "images_per_s": rate,
        "warmup": min(warmup, step),
        **last,
        "netG": netG,
    }


def _default_data(root: Path, n: int) -> Path:
    """Stacked digits at 32 px (the time-to-quality set) written as an ImageFolder."""
    from gan_core.data.builtin.digits import stacked_digits

    return write_image_folder(stacked_digits(n=n, res=32, seed=0), root)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Time the pytorch/examples DCGAN loop (our re-implementation).")
    p.add_argument("--data", help="ImageFolder root; default: stacked digits written to a temp dir")
    p.add_argument("--n", type=int, default=2000, help="images in the default data set")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--res", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(a.data) if a.data else _default_data(Path(tmp) / "data", a.n)
        r = run_baseline(data, steps=a.steps, res=a.res, batch_size=a.batch, workers=a.workers,
                         threads=a.threads, seed=a.seed, warmup=a.warmup)
    print(f"pytorch/examples DCGAN baseline: {r['images_per_s']:.1f} images/s "
          f"(res {a.res}, batch {a.batch}, {a.workers} workers, {a.threads} threads, "
          f"{r['steps']} steps, first {r['warmup']} excluded; errD {r['errD']:.3f} errG {r['errG']:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
