"""The bundled checkpoints: they load, validate, draw what they promise, and fine-tune."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_core import checkpoint
from gan_core.config import TrainConfig
from gan_core.data.imageset import ImageSet
from gan_core.latent import generate, seed_latents
from gan_core.train import Trainer
from gan_core.train.finetune import load_pretrained

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = ("digits32", "emoji64", "emoji64-groups")
BUNDLED = [ROOT / "checkpoints" / name for name in EXPECTED]


def test_the_three_bundled_models_are_there_and_small():
    assert all((folder / "model.safetensors").is_file() for folder in BUNDLED)
    for folder in BUNDLED:
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        assert size < 10 * 2**20, f"{folder.name} is {size / 2**20:.1f} MB"
        card = (folder / "README.md").read_text()
        for words in ("licence", "Reproduce", "python -m gan_core train", "training time", "hardware", "Quality"):
            assert words in card, f"{folder.name}'s card lacks {words!r}"


@pytest.mark.parametrize("folder", BUNDLED, ids=lambda p: p.name)
def test_each_bundled_model_loads_validates_and_draws_finite_images(folder):
    loaded = checkpoint.load_generator(folder)
    m = loaded.config.model
    y = torch.arange(8) % m.num_classes if m.conditional else None
    images = generate(loaded.generator, seed_latents(range(8), m.nz), y, precision="fp32")
    assert images.shape == (8, m.res, m.res, m.channels) and images.dtype == np.uint8
    assert images.std() > 10  # not a flat image
    assert checkpoint.load_discriminator(folder) is not None  # fine-tuning needs D


@pytest.mark.parametrize("folder", [p for p in BUNDLED if p.name != "emoji64"], ids=lambda p: p.name)
def test_conditional_models_respond_to_the_class(folder):
    g = checkpoint.load_generator(folder).generator
    z = seed_latents([7] * g.cfg.num_classes, g.cfg.nz)
    images = generate(g, z, torch.arange(g.cfg.num_classes), precision="fp32").astype(float)
    diffs = [np.abs(images[0] - images[k]).mean() for k in range(1, len(images))]
    assert min(diffs) > 5, diffs


@pytest.mark.slow
def test_digits_model_draws_the_requested_digit():
    from gan_core.data.builtin import digits
    from gan_core.metrics import ModeClassifier

    real = digits(res=32)
    clf = ModeClassifier.fit(real, seed=0)
    assert clf.val_accuracy > 0.9
    g = checkpoint.load_generator(ROOT / "checkpoints" / "digits32").generator
    y = torch.arange(500) % 10
    fake = generate(g, seed_latents(range(500), g.cfg.nz), y, precision="fp32").transpose(0, 3, 1, 2)
    agreement = (clf.predict(fake, value_range=(0, 255)) == y.numpy()).mean()
    assert agreement > 0.6, agreement


def one_class_set(n: int = 32) -> ImageSet:
    """Generated images of one new class: a bright ring on black, 32 px, grayscale."""
    yy, xx = np.mgrid[:32, :32]
    images = np.zeros((n, 1, 32, 32), np.uint8)
    rng = np.random.default_rng(0)
    for i in range(n):
        r = np.hypot(yy - 16 - rng.integers(-2, 3), xx - 16 - rng.integers(-2, 3))
        images[i, 0] = np.where(np.abs(r - rng.uniform(7, 10)) < 2, 255, 0)
    return ImageSet(images, np.zeros(n, np.int64), ["ring"], "rings")


def test_fine_tuning_the_digits_model_on_one_new_class_moves_its_weights():
    source = ROOT / "checkpoints" / "digits32"
    model = checkpoint.load_run_config(source).model.replace(num_classes=0)  # one class: unconditional
    t = Trainer(model, TrainConfig(steps=3, batch_size=8, precision="fp32", freeze_d=1, diffaug="color,translation,cutout"),
                one_class_set())
    report = load_pretrained(t, source)
    # every tensor finds a source: the per-class norm tables average into the plain batch norm
    assert report.skipped["G"] == [] and report.loaded["G"] == len(t.G.state_dict())
    assert report.loaded["D"] == len(t.D.state_dict()) > 5
    assert "blocks.0.norm.weight: class-averaged" in report.adapted["G"]
    start = {k: v.clone() for k, v in t.G.state_dict().items()}
    frozen = t.D.blocks[0].conv.weight.clone()
    list(t.run())
    moved = [k for k, v in t.G.state_dict().items() if v.is_floating_point() and not torch.equal(v, start[k])]
    assert len(moved) > 5
    assert torch.equal(frozen, t.D.blocks[0].conv.weight)  # FreezeD kept D's first block


@pytest.mark.slow
def test_the_app_samples_from_a_bundled_model_in_under_a_second(tmp_path):
    from gradio_client import Client

    from apphelpers import running_app

    with running_app(tmp_path, checkpoints=ROOT / "checkpoints") as (url, demo, ctx):
        key = ctx.registry.default_key()
        assert key == "bundled/emoji64"
        c = Client(url, verbose=False)
        c.predict("0" * 32, key, 0, 16, 1.0, None, api_name="/sample")  # first call loads the weights
        times = []
        for seed in range(5):
            t0 = time.perf_counter()
            c.predict("0" * 32, key, seed, 16, 1.0, None, api_name="/sample")
            times.append(time.perf_counter() - t0)
        assert sorted(times)[2] < 1.0, times


def test_rewriting_a_card_keeps_its_provenance_and_a_two_column_table(tmp_path):
    """scripts/evaluate_bundled.py --card-only: hardware, history and command come from the card
    being replaced (not the run's defaults), the export/evaluate lines are not doubled, and a
    figure name holding '|' is escaped so every quality row keeps two cells."""
    import importlib.util
    import json
    import shutil

    spec = importlib.util.spec_from_file_location("evaluate_bundled", ROOT / "scripts" / "evaluate_bundled.py")
    evaluate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluate)
    model = tmp_path / "digits32"
    shutil.copytree(ROOT / "checkpoints" / "digits32", model)
    before = (model / "README.md").read_text()
    card = model / "README.md"
    card.write_text(before.replace("| weights |", "| history | stopped once, resumed |\n| weights |"))
    run = tmp_path / "run"
    run.mkdir()
    (run / "status.json").write_text(json.dumps({"step": 6000, "elapsed": 1188.0}))
    (run / "README.md").write_text("| hardware | some other machine |\n```bash\npython -m gan_core train --resume x\n```\n")

    assert evaluate.main([str(model), str(run), "--card-only"]) == 0
    after = card.read_text()
    assert "| hardware | CPU AMD EPYC" in after and "some other machine" not in after
    assert "| history | stopped once, resumed |" in after
    assert after.count("python -m gan_core export") == 1 and "--resume x" not in after
    assert "python -m gan_core train --out runs/bundled/digits32" in after
    quality = after.split("| figure | value |", 1)[1].split("## Use", 1)[0]
    rows = [line for line in quality.splitlines() if line.startswith("| ")]
    assert len(rows) == len(json.loads((model / "quality.json").read_text()))
    for row in rows:
        assert len(row.replace("\\|", "").strip("|").split("|")) == 2, row
