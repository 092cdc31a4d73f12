"""Measure a bundled model, draw its sample grids and write its model card.

Usage: python scripts/evaluate_bundled.py checkpoints/NAME runs/bundled/NAME

Figures (protocol in docs/METRICS.md): FD/KID/precision/recall in EfficientNet-Lite0
feature space against the real training images (as many generated images as real ones, at
most 2,000); for conditional models also the agreement of a classifier, trained here on the
real images, with the requested class, and the classes covered. Grids go to
docs/images/NAME.png (a random 8x8 grid, seeds 0-63) and, for conditional models,
docs/images/NAME-classes.png (one row per class).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_core import checkpoint  # noqa: E402
from gan_core.data.builtin import load_builtin  # noqa: E402
from gan_core.device import torch_threads  # noqa: E402
from gan_core.latent import generate, seed_latents  # noqa: E402
from gan_core.metrics import ModeClassifier, image_metrics, mode_coverage  # noqa: E402
from gan_core.metrics.modes import class_histogram  # noqa: E402
from gan_core.train.card import _fmt_seconds  # noqa: E402
from gan_core.video import contact_sheet  # noqa: E402

DATA_LICENCES = {
    "emoji": "Noto Color Emoji glyphs (Debian fonts-noto-color-emoji), SIL Open Font License 1.1; "
             "classes from Unicode's emoji groups",
    "digits": "scikit-learn's load_digits (UCI ML hand-written digits, 1,797 images), CC BY 4.0",
}


CLASSIFIER_THREADS = 1

LICENCE_IDS = {"emoji": "ofl-1.1", "digits": "cc-by-4.0"}  # the model inherits its data's licence


def builtin_name(run_cfg) -> str:
    return "emoji" if "emoji" in run_cfg.data else "digits"


def sample_all(g, n: int, num_classes: int, seed0: int = 10_000, labels=None) -> np.ndarray:
    """n images (uint8 (n, C, H, W)) from seeds seed0.., classes cycling (or `labels`)."""
    out = []
    for start in range(0, n, 250):
        seeds = list(range(seed0 + start, seed0 + min(n, start + 250)))
        y = None
        if num_classes:
            y = torch.as_tensor(labels[start : start + len(seeds)] if labels is not None
                                else np.arange(start, start + len(seeds)) % num_classes)
        out.append(generate(g, seed_latents(seeds, g.cfg.nz), y, precision="fp32"))
    return np.concatenate(out).transpose(0, 3, 1, 2)  # (n, C, H, W)


def save_png(array_hwc: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = array_hwc[..., 0] if array_hwc.shape[-1] == 1 else array_hwc
    Image.fromarray(img).save(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Evaluate a bundled model and write its card, grids and quality.json.")
    p.add_argument("model_dir", type=Path, help="the exported model, e.g. checkpoints/emoji64")
    p.add_argument("run_dir", type=Path, help="the run it was exported from, e.g. runs/bundled/emoji64")
    p.add_argument("--card-only", action="store_true", help="rewrite the card from quality.json; measure nothing")
    p.add_argument("--hardware", help="the hardware line of the card (default: the model card's, else the run's)")
    p.add_argument("--command", help="the training command that reproduces it (default: the model card's, else the run's)")
    p.add_argument("--history", default="", help="a line on how the run went (interruptions, resumes; default: the model card's)")
    args = p.parse_args(argv)
    model_dir, run_dir = args.model_dir, args.run_dir
    name = model_dir.name
    loaded = checkpoint.load_generator(model_dir)
    card = dict(hardware=args.hardware, command=args.command, history=args.history)
    if args.card_only:
        write_card(model_dir, run_dir, loaded, json.loads((model_dir / "quality.json").read_text()), **card)
        return 0
    g, cfg = loaded.generator, loaded.config
    m = cfg.model
    data = load_builtin(builtin_name(cfg), m.res)
    t0 = time.time()

    # grids for the README and the card
    grid = generate(g, seed_latents(range(64), m.nz), None if not m.conditional else torch.arange(64) % m.num_classes,
                    precision="fp32")
    sheet = contact_sheet(grid, cols=8, pad=2, pad_value=255)
    save_png(sheet, ROOT / "docs" / "images" / f"{name}.png")
    save_png(sheet, model_dir / "samples" / "grid.png")
    if m.conditional:
        rows = []
        for c in range(m.num_classes):
            rows.append(generate(g, seed_latents(range(10), m.nz), torch.full((10,), c), precision="fp32"))
        sheet_c = contact_sheet(np.concatenate(rows), cols=10, pad=2, pad_value=255)
        save_png(sheet_c, ROOT / "docs" / "images" / f"{name}-classes.png")
        save_png(sheet_c, model_dir / "samples" / "classes.png")

    # quality figures
    n = min(len(data), 2000)
    real = data.images[np.random.default_rng(0).permutation(len(data))[:n]]
    fake_labels = data.labels[np.random.default_rng(1).permutation(len(data))[:n]] if m.conditional else None
    fake = sample_all(g, n, m.num_classes, labels=fake_labels)
    figures = image_metrics(real, fake)
    figures = {k: round(float(v), 4) for k, v in figures.items()}
    if data.num_classes > 1:  # labelled data: a classifier trained here from scratch (not ImageNet)
        # One thread: the classifier's 400 Adam steps sum in a different order on 2 threads
        # (held-out accuracy 0.6755 vs 0.6596 on emoji), and the card should repeat exactly.
        with torch_threads(CLASSIFIER_THREADS):
            clf = ModeClassifier.fit(data, seed=0, steps=400)
        pred = clf.predict(fake, value_range=(0, 255))
        if m.conditional:
            figures["classifier agreement with requested class"] = round(float((pred == fake_labels).mean()), 4)
        figures["classifier accuracy on held-out real images"] = round(float(clf.val_accuracy), 4)
        real_hist = class_histogram(data.labels, data.num_classes)
        cov = mode_coverage(pred, data.num_classes, real_hist)
        figures["classes covered"] = f"{cov['modes_covered']} of {data.num_classes}"
        figures["KL(generated classes || real classes)"] = round(float(cov["kl"]), 4)
        if not m.conditional:
            share = class_histogram(pred, data.num_classes) / len(pred)
            real_share = real_hist / real_hist.sum()
            figures["share of samples per class, generated (real)"] = ", ".join(
                f"{c} {g:.1%} ({r:.1%})" for c, g, r in zip(data.class_names, share, real_share))
    (model_dir / "quality.json").write_text(json.dumps(figures, indent=2) + "\n")

    write_card(model_dir, run_dir, loaded, figures, **card)
    print(json.dumps(figures, indent=2))
    print(f"evaluated {name} in {time.time() - t0:.0f} s")
    return 0


def _card_fields(path: Path, strip_tail: bool = False) -> dict[str, str]:
    """The hardware and history rows and the first bash block of a card (empty if no card).

    A model card's block ends with the export and evaluate lines this script writes after the
    training command; `strip_tail` drops them so they are not written twice."""
    if not path.is_file():
        return {}
    text = path.read_text()
    fields = {row.split("|")[1].strip(): row.split("|", 2)[2].rsplit("|", 1)[0].strip()
              for row in text.splitlines() if row.startswith(("| hardware |", "| history |"))}
    if "```bash\n" in text:
        lines = text.split("```bash\n", 1)[1].split("\n```", 1)[0].splitlines()
        if strip_tail:
            lines = [l for l in lines if not l.startswith(("python -m gan_core export ", "python scripts/evaluate_bundled.py "))]
        fields["command"] = "\n".join(lines)
    return fields


def write_card(model_dir: Path, run_dir: Path, loaded, figures: dict, hardware: str | None = None,
               command: str | None = None, history: str = "") -> None:
    cfg = loaded.config
    m, t = cfg.model, cfg.train
    status = json.loads((run_dir / "status.json").read_text())
    # what is not given is kept from the model's current card, else taken from the run's
    before = _card_fields(model_dir / "README.md", strip_tail=True)
    run_card = _card_fields(run_dir / "README.md")
    command = command or before.get("command") or run_card.get("command", "")
    hardware = hardware or before.get("hardware") or run_card.get("hardware", "")
    history = history or before.get("history", "")
    cells = {k.replace("|", "\\|"): v for k, v in figures.items()}  # a bare | would split the table cell
    rows = "\n".join(f"| {k} | {v} |" for k, v in cells.items())
    aux = f" + a second D on frozen ImageNet EfficientNet-Lite0 features (--aux-d {t.aux_d})" if t.aux_d else ""
    caveat = ("" if not t.aux_d else "\n\nThis model was trained against a D that sees EfficientNet-Lite0's own feature maps, so "
              "FD, KID and precision/recall flatter it (docs/METRICS.md); the classifier figures come from a small "
              "CNN trained from scratch on the real images and do not share that bias.")
    kind = f"class-conditional ({m.num_classes} classes: {', '.join(cfg.class_names)})" if m.conditional else "unconditional"
    text = f"""---
library_name: gan-studio
license: {LICENCE_IDS[builtin_name(cfg)]}
tags: [gan, dcgan, safetensors, gan-studio]
---

# {model_dir.name}

{"An" if kind.startswith("unconditional") else "A"} {kind} DCGAN-family generator at {m.res} px, trained by GAN Studio's own training code
(`python -m gan_core train`) on CPU.

![samples, seeds 0-63](samples/grid.png)
{"" if not m.conditional else chr(10) + "![one row per class, seeds 0-9](samples/classes.png)" + chr(10)}
| | |
|---|---|
| data | {cfg.data} |
| data licence | {DATA_LICENCES[builtin_name(cfg)]} |
| architecture | DCGAN G (nz {m.nz}, width {m.ngf}) and D (width {m.ndf}{", spectral norm" if m.spectral_norm else ""}{", projection" if m.conditional else ""}) |
| loss | {t.loss}{"" if t.penalty == "none" else " + " + t.penalty}{aux}, DiffAugment {t.diffaug or "off"}, EMA {t.ema} |
| optimiser | Adam lr G {t.lr_g} / D {t.lr_d}, betas ({t.beta1}, {t.beta2}), batch {t.batch_size} |
| steps | {status["step"]:,} |
| training time | {_fmt_seconds(status["elapsed"])} |
| hardware | {hardware} |{chr(10) + "| history | " + history + " |" if history else ""}
| weights | float16 (model.safetensors: EMA generator; discriminator.safetensors: D, for fine-tuning) |

## Reproduce

```bash
{command}
python -m gan_core export --run {run_dir} --out checkpoints/{model_dir.name} --half
python scripts/evaluate_bundled.py checkpoints/{model_dir.name} {run_dir}
```

(`scripts/train_bundled.sh {model_dir.name}` runs all three.)

## Quality

Measured by `scripts/evaluate_bundled.py` (protocol in docs/METRICS.md: {int(figures.get("n_fake", 0))} generated
vs {int(figures.get("n_real", 0))} real images; features of ImageNet EfficientNet-Lite0, so these are not FID
values and are comparable only with each other; the classifier is trained on {CLASSIFIER_THREADS} torch
thread so its figures repeat whatever the core count).{caveat}

| figure | value |
|---|---|
{rows}

## Use

```bash
python -m gan_core sample --ckpt checkpoints/{model_dir.name} --n 64 --seed 0 --out grid.png
python -m gan_core video --ckpt checkpoints/{model_dir.name} --seeds 1,2,3 --seconds 10 --out walk.mp4
```
"""
    checkpoint.atomic_write_text(model_dir / "README.md", text)


if __name__ == "__main__":
    sys.exit(main())
