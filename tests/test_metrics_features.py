"""The offline EfficientNet-Lite0 feature network and the image-level metrics built on it."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from gan_core.metrics.features import FEATURE_DIM, classify, feature_net, features, map_state_dict_by_position


@pytest.fixture(scope="module")
def photos():
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    china = next(i for i, f in enumerate(bunch.filenames) if f.endswith("china.jpg"))
    return torch.from_numpy(np.array(bunch.images[china])).permute(2, 0, 1)[None]  # (1, 3, 427, 640) uint8


@pytest.fixture(scope="module")
def digit_images():
    from gan_core.data.builtin.digits import digits

    return torch.from_numpy(digits(32).images[:24])  # (24, 1, 32, 32) uint8


def test_importing_the_metrics_package_loads_no_network():
    code = "import sys, gan_core.metrics as m; assert 'timm' not in sys.modules; assert m.feature_net.cache_info().currsize == 0"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_temple_photo_is_classified_as_a_church_or_palace_like_building(photos):
    top = [name for name, _ in classify(photos, topk=5)[0]]
    buildings = {"church", "palace", "bell cote", "dome", "monastery", "boathouse", "mosque", "stupa", "pagoda"}
    assert top[0] in buildings, top
    assert len(buildings.intersection(top)) >= 3, top


def test_features_are_1280_float32_per_image(digit_images):
    f = features(digit_images[:4])
    assert f.shape == (4, FEATURE_DIM) and f.dtype == torch.float32 and torch.isfinite(f).all()


def test_uint8_and_float_minus_one_to_one_inputs_give_the_same_features(digit_images):
    x = digit_images[:4]
    as_float = x.float() / 127.5 - 1.0
    torch.testing.assert_close(features(x), features(as_float), atol=1e-4, rtol=1e-4)


def test_a_grey_image_equals_its_rgb_copy(digit_images):
    x = digit_images[:2]
    torch.testing.assert_close(features(x), features(x.expand(-1, 3, -1, -1)))


def test_positional_weight_map_refuses_a_shape_mismatch():
    source = {"a.weight": torch.zeros(3, 3), "b.weight": torch.zeros(4)}
    with pytest.raises(RuntimeError, match=r"tensor 1: b\.weight \(4,\)"):
        map_state_dict_by_position(source, ["x", "y"], [torch.Size([3, 3]), torch.Size([5])])
    with pytest.raises(RuntimeError, match="2 tensors"):
        map_state_dict_by_position(source, ["x"], [torch.Size([3, 3])])


def test_feature_net_is_one_shared_instance():
    assert feature_net("cpu") is feature_net("cpu")


def test_image_metrics_are_named_honestly_and_separate_noise_from_data(digit_images):
    from gan_core.metrics.distance import frechet_distance, image_metrics

    real = digit_images[:12]
    m = image_metrics(real, digit_images[12:24], kid_subsets=5, kid_subset_size=12, k=3)
    assert {"FD-EffNetLite0", "KID-EffNetLite0", "precision", "recall"} <= set(m)
    assert not any("FID" in key for key in m)
    noise = torch.from_numpy(np.random.default_rng(0).integers(0, 256, size=(12, 1, 32, 32), dtype=np.uint8))
    fr = features(real)
    assert frechet_distance(fr, fr) == pytest.approx(0.0, abs=1e-6)
    assert m["FD-EffNetLite0"] < frechet_distance(fr, features(noise))


def test_feature_distance_grows_with_noise_added_to_images(digit_images):
    from gan_core.metrics.distance import frechet_distance

    x = digit_images[:12].float() / 127.5 - 1.0
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=gen)
    ref = features(x)
    fds = [frechet_distance(ref, features((x + s * noise).clamp(-1, 1))) for s in (0.0, 0.2, 0.6)]
    assert fds[0] == pytest.approx(0.0, abs=1e-6)
    assert fds[0] < fds[1] < fds[2], fds
