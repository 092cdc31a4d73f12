"""Training speed, time to quality, sampling latency and peak memory, against the DCGAN baseline.

Baseline: benchmarks/baseline_dcgan.py, our faithful re-implementation of pytorch/examples'
dcgan (its ImageFolder + DataLoader input, fp32). Ours: gan_core's Trainer on the uint8
tensor that `load_images` builds once from the same folder. Both on 2 torch threads, in
the same run, alternating, median of the repeats.

Command: `python -m benchmarks.train` (`--quick`: fewer steps, one repeat, short budget).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.baseline_dcgan import run_baseline, write_image_folder
from benchmarks.common import Row, median, peak_rss_mib_of, print_rows

CACHE = Path(tempfile.gettempdir()) / "gan_studio_bench"


def emoji_folder(res: int = 128) -> Path:
    """The emoji set at 128 px as an ImageFolder of PNGs (what a user's folder looks like)."""
    root = CACHE / f"emoji{res}"
    if not (root / ".done").exists():
        from gan_core.data.builtin import emoji

        write_image_folder(emoji(res=res), root)
        (root / ".done").touch()
    return root


def photo_folder(n: int = 1000) -> Path:
    """`n` photo-like 1024x768 JPEGs (the ingestion benchmark's) as a one-class ImageFolder."""
    import zipfile

    from benchmarks.ingest import dataset_zip

    root = CACHE / f"photos{n}"
    if not (root / ".done").exists():
        (root / "photos").mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dataset_zip(2000)) as z:
            for name in sorted(z.namelist())[:n]:
                (root / "photos" / Path(name).name).write_bytes(z.read(name))
        (root / ".done").touch()
    return root


def stacked_folder(n: int = 10_000) -> Path:
    root = CACHE / f"stacked{n}"
    if not (root / ".done").exists():
        from gan_core.data.builtin import stacked_digits

        write_image_folder(stacked_digits(n=n, res=32, seed=0), root)
        (root / ".done").touch()
    return root


def _sync(device: str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def ours_images_per_s(data_dir: Path, res: int, steps: int, warmup: int = 3, preset_name: str = "dcgan",
                      device: str = "cpu", aux_d: float = 0.0) -> float:
    from gan_core.config import DataConfig, preset
    from gan_core.data.ingest import load_images
    from gan_core.train import Trainer

    data, _ = load_images(data_dir, DataConfig(res=res))
    model, train = preset(preset_name)
    model = model.replace(res=res, channels=data.channels)
    trainer = Trainer(model, train.replace(precision="auto", aux_d=aux_d), data, device=torch.device(device))
    for _ in range(warmup):
        trainer.train_step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    _sync(device)
    return steps * train.batch_size / (time.perf_counter() - t0)


def baseline_compute_only(res: int, steps: int, warmup: int = 3, device: str = "cpu") -> float:
    """The baseline's update on batches already in memory: its compute alone, no input pipeline."""
    from benchmarks.baseline_dcgan import Discriminator, Generator, weights_init

    g, d = Generator(res=res), Discriminator(res=res)
    g.apply(weights_init)
    d.apply(weights_init)
    g.to(device)
    d.to(device)
    crit = torch.nn.BCELoss()
    og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    real = torch.rand(64, 3, res, res, device=device) * 2 - 1
    ones, zeros = torch.ones(64, device=device), torch.zeros(64, device=device)
    t0 = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            _sync(device)
            t0 = time.perf_counter()
        d.zero_grad()
        crit(d(real), ones).backward()
        fake = g(torch.randn(64, 100, 1, 1, device=device))
        crit(d(fake.detach()), zeros).backward()
        od.step()
        g.zero_grad()
        crit(d(fake), ones).backward()
        og.step()
    _sync(device)
    return steps * 64 / (time.perf_counter() - t0)


def throughput_rows(quick: bool) -> list[Row]:
    """dcgan preset vs the baseline on two folders: small PNGs (light input) and photos (heavy input)."""
    torch.set_num_threads(2)
    steps = 10 if quick else 40
    repeats = 1 if quick else 3
    rows = []
    cases = [("emoji 128 px PNGs", emoji_folder(), 64), ("emoji 128 px PNGs", emoji_folder(), 32),
             ("1,000 photo-like 1024x768 JPEGs", photo_folder(), 64)]
    for label, folder, res in cases:
        ours, base, compute = [], [], []
        for _ in range(repeats):
            base.append(run_baseline(folder, steps=steps + 5, res=res, workers=2, threads=2, warmup=5)["images_per_s"])
            ours.append(ours_images_per_s(folder, res, steps))
            if label.startswith("emoji"):
                compute.append(baseline_compute_only(res, steps))
        note = f"{label} (baseline: ImageFolder + DataLoader, 2 workers); ours after one ingestion; median of {repeats}"
        rows.append(Row(f"train images/s, dcgan, {res} px, {label.split(' ')[0]}", median(ours), median(base),
                        "images/s", target=3.0 if res == 64 else 0.0, notes=note))
        if compute:
            rows.append(Row(f"  same, vs the baseline's compute alone, {res} px", median(ours), median(compute),
                            "images/s", notes="baseline update on in-memory batches, fp32: its input pipeline removed"))
    return rows


def aux_d_rows(quick: bool) -> list[Row]:
    """What the second, ImageNet-feature D (--aux-d) costs: the bundled emoji recipe with and without it."""
    torch.set_num_threads(2)
    steps, repeats = (5, 1) if quick else (20, 3)
    with_aux, without = [], []
    for _ in range(repeats):
        without.append(ours_images_per_s(emoji_folder(), 64, steps, preset_name="cpu64"))
        with_aux.append(ours_images_per_s(emoji_folder(), 64, steps, preset_name="cpu64", aux_d=0.2))
    return [Row("train images/s, cpu64 preset, 64 px emoji, --aux-d 0.2", median(with_aux), median(without), "images/s",
                notes=f"baseline: the same recipe without the second D; median of {repeats}")]


# ---------------------------------------------------------------------------- time to quality


class QualityProbe:
    """Modes covered (of 1,000) of 10,000 samples, by the project's stacked-digits classifier."""

    def __init__(self, n_samples: int = 10_000):
        from gan_core.data.builtin import stacked_digits
        from gan_core.metrics import ModeClassifier

        self.real = stacked_digits(n=10_000, res=32, seed=0)
        self.clf = ModeClassifier.fit(self.real, seed=0)
        self.n = n_samples
        self.z = torch.randn(n_samples, 100, generator=torch.Generator().manual_seed(123))

    def modes(self, sample_fn) -> tuple[int, float]:
        from gan_core.metrics import mode_coverage

        with torch.no_grad():
            preds = []
            for start in range(0, self.n, 500):
                x = sample_fn(start, min(self.n, start + 500))  # float in [-1, 1], (B, 3, 32, 32)
                preds.append(self.clf.predict(x.float(), value_range=(-1, 1)))
        cov = mode_coverage(np.concatenate(preds), 1000, np.bincount(self.real.labels, minlength=1000))
        return int(cov["modes_covered"]), float(cov["kl"])


def time_to_quality_rows(quick: bool) -> list[Row]:
    """Seconds of training until 10,000 samples cover `target` of the 1,000 stacked-digit modes."""
    from gan_core.config import DataConfig, preset
    from gan_core.data.ingest import load_images
    from gan_core.latent import eval_mode
    from gan_core.train import Trainer

    target = 500 if quick else 900
    budget = 120.0 if quick else 900.0
    every = 15.0 if quick else 30.0
    torch.set_num_threads(2)
    probe = QualityProbe()
    folder = stacked_folder()

    base_hit = {"t": None, "modes": 0}
    last_check = {"t": 0.0}

    def base_cb(step, netG, info):
        if info["train_seconds"] - last_check["t"] < every:
            return False
        last_check["t"] = info["train_seconds"]
        netG.eval()
        z = probe.z.view(-1, 100, 1, 1)
        modes, _ = probe.modes(lambda a, b: netG(z[a:b]))
        base_hit["modes"] = modes
        if modes >= target:
            base_hit["t"] = info["train_seconds"]
            return True
        return False

    run_baseline(folder, seconds=budget, res=32, workers=2, threads=2, callback=base_cb, callback_every=25)

    data, _ = load_images(folder, DataConfig(res=32))
    model, train = preset("quick")
    trainer = Trainer(model.replace(channels=3), train, data)
    ours_t, ours_modes, next_check = None, 0, every
    for m in trainer.run(steps=10**9, seconds=budget):
        if trainer.elapsed >= next_check:
            next_check = trainer.elapsed + every
            g = trainer.sampling_generator()
            with eval_mode(g):
                ours_modes, _ = probe.modes(lambda a, b: g(probe.z[a:b, : model.nz]))
            if ours_modes >= target:
                ours_t = trainer.elapsed
                break
    ours_s = ours_t if ours_t is not None else budget
    base_s = base_hit["t"] if base_hit["t"] is not None else budget
    note = (f"stacked digits 32 px, target {target} of 1,000 modes; checks every {every:.0f} s of training; "
            f"ours {ours_modes} modes{'' if ours_t else ' (not reached)'}, baseline {base_hit['modes']} modes"
            f"{'' if base_hit['t'] else ' (not reached in ' + str(int(budget)) + ' s: ratio is a lower bound)'}")
    return [Row("time to quality (s), quick preset vs dcgan", ours_s, base_s, "s", higher_is_better=False,
                target=5.0, notes=note)]


# ---------------------------------------------------------------------------- sampling, memory


def sampling_ms(n: int, reps: int, device: str = "cpu") -> tuple[float, float]:
    """Median ms to sample `n` images at 64 px: ours (dcgan-size G, uint8 out on the CPU) and
    the example's way (train mode, autograd on, fp32, float out), alternating."""
    from benchmarks.baseline_dcgan import Generator as BaseG
    from benchmarks.baseline_dcgan import weights_init
    from gan_core.config import preset
    from gan_core.latent import generate, seed_latents
    from gan_core.models import build_models

    g, _ = build_models(preset("dcgan")[0])
    g.eval().to(device)
    base = BaseG()
    base.apply(weights_init)
    base.to(device)
    z = seed_latents(range(n), 100)
    ours, theirs = [], []
    for _ in range(reps + 2):
        _sync(device)
        t0 = time.perf_counter()
        generate(g, z)
        ours.append(time.perf_counter() - t0)
        _sync(device)
        t0 = time.perf_counter()
        base(z.to(device).view(n, 100, 1, 1)).cpu()
        theirs.append(time.perf_counter() - t0)
    return 1000 * median(ours[2:]), 1000 * median(theirs[2:])


def sampling_rows(quick: bool) -> list[Row]:
    torch.set_num_threads(2)
    ours, theirs = sampling_ms(64, 5 if quick else 15)
    return [Row("sample 64 images at 64 px (ms)", ours, theirs, "ms",
                higher_is_better=False, notes="uint8 images out vs float tensor out")]


_MEM_OURS = """
import sys, torch
sys.path.insert(0, {root!r})
torch.set_num_threads(2)
from benchmarks.train import ours_images_per_s
from pathlib import Path
ours_images_per_s(Path({folder!r}), 64, {steps})
"""

_MEM_BASE = """
import sys, torch
sys.path.insert(0, {root!r})
from benchmarks.baseline_dcgan import run_baseline
run_baseline({folder!r}, steps={steps}, res=64, workers=2, threads=2)
"""


def memory_rows(quick: bool) -> list[Row]:
    root = str(Path(__file__).resolve().parents[1])
    folder = str(emoji_folder())
    steps = 5 if quick else 20
    ours, _ = peak_rss_mib_of(_MEM_OURS.format(root=root, folder=folder, steps=steps))
    base, _ = peak_rss_mib_of(_MEM_BASE.format(root=root, folder=folder, steps=steps))
    return [Row("peak memory, training 64 px (MiB)", ours, base, "MiB", higher_is_better=False,
                notes="main process only (the baseline's DataLoader workers add more)")]


def run(quick: bool = False) -> list[Row]:
    return (throughput_rows(quick) + aux_d_rows(quick) + sampling_rows(quick) + memory_rows(quick)
            + time_to_quality_rows(quick))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", choices=["throughput", "aux-d", "quality", "sampling", "memory"])
    args = p.parse_args(argv)
    fns = {"throughput": throughput_rows, "aux-d": aux_d_rows, "quality": time_to_quality_rows,
           "sampling": sampling_rows, "memory": memory_rows}
    rows = fns[args.only](args.quick) if args.only else run(args.quick)
    print_rows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
