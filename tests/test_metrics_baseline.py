"""The pytorch/examples DCGAN baseline runs on a tiny generated ImageFolder."""

import math

import numpy as np
import pytest
import torch

from benchmarks.baseline_dcgan import Discriminator, Generator, run_baseline, weights_init, write_image_folder
from gan_core.data.imageset import ImageSet


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 3, 40, 40), dtype=np.uint8)  # resized to 64 by the pipeline
    labels = np.repeat([0, 1], 10).astype(np.int64)
    return write_image_folder(ImageSet(images, labels, ["a", "b"]), tmp_path_factory.mktemp("folder"))


def test_example_architecture_at_64_px_has_its_parameter_counts():
    # pytorch/examples dcgan with nz 100, ngf = ndf = 64, nc 3.
    assert sum(p.numel() for p in Generator().parameters()) == 3_576_704
    assert sum(p.numel() for p in Discriminator().parameters()) == 2_765_568


def test_weights_init_draws_conv_and_batchnorm_weights_as_the_example_does():
    g = Generator(res=32)
    g.apply(weights_init)
    conv, bn = g.main[0].weight, g.main[1]
    assert abs(conv.std().item() - 0.02) < 0.002 and abs(bn.weight.mean().item() - 1.0) < 0.01
    assert torch.all(bn.bias == 0)


def test_baseline_runs_three_steps_with_finite_losses_and_calls_back(tiny_folder):
    calls = []
    r = run_baseline(tiny_folder, steps=3, res=64, batch_size=8, workers=1, threads=1, warmup=1,
                     callback=lambda step, g, info: calls.append((step, g(torch.zeros(2, 100, 1, 1)).shape)),
                     callback_every=2)
    assert r["steps"] == 3 and r["images"] == 8 + 8 + 4  # 20 images: the last batch is kept, not dropped
    assert all(math.isfinite(r[k]) for k in ("errD", "errG", "D_x", "D_G_z1", "D_G_z2"))
    assert r["images_per_s"] > 0
    assert [c[0] for c in calls] == [2, 3] and calls[0][1] == (2, 3, 64, 64)


def test_baseline_is_reproducible_for_a_seed_and_leaves_the_global_rng_alone(tiny_folder):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = run_baseline(tiny_folder, steps=2, res=32, batch_size=8, workers=0, threads=1)
    after = torch.rand(1)
    b = run_baseline(tiny_folder, steps=2, res=32, batch_size=8, workers=0, threads=1)
    assert torch.equal(before, after)
    assert a["errD"] == b["errD"] and a["errG"] == b["errG"]


def test_callback_returning_true_stops_the_run(tiny_folder):
    r = run_baseline(tiny_folder, steps=50, res=32, batch_size=8, workers=0, threads=1,
                     callback=lambda step, g, info: True, callback_every=2)
    assert r["steps"] == 2
