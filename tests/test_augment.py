import torch

from gan_core import augment


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_diffaugment_is_seeded_and_keeps_shape():
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    a = augment.diff_augment(x, "color,translation,cutout", gen(1))
    b = augment.diff_augment(x, "color,translation,cutout", gen(1))
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.equal(a, augment.diff_augment(x, "color,translation,cutout", gen(2)))


def test_empty_policy_is_identity():
    x = torch.rand(2, 3, 8, 8)
    assert augment.diff_augment(x, "", gen()) is x


def test_translation_shifts_pixels_and_fills_with_zeros():
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1.0  # one bright pixel
    y = augment.translation(x, gen(), ratio=0.125)
    assert torch.all(y.flatten(1).sum(1) == 1)  # the pixel moved, never duplicated or lost
    moved = (y[:, 0, 8, 8] == 0).float().mean()
    assert moved > 0.5  # most images were shifted
    pos = y[:, 0].flatten(1).argmax(1)
    rows, cols = pos // 16, pos % 16
    assert (rows - 8).abs().max() <= 2 and (cols - 8).abs().max() <= 2  # 1/8 of 16 px


def test_cutout_zeros_a_square_of_half_the_size():
    x = torch.ones(32, 3, 16, 16)
    y = augment.cutout(x, gen(), ratio=0.5)
    zeros = (y[:, 0] == 0).flatten(1).sum(1)
    assert zeros.max() == 64  # an 8x8 square when fully inside
    assert (zeros > 0).all()


def test_color_changes_brightness_per_image():
    x = torch.zeros(16, 3, 4, 4)
    y = augment.color(x, gen())
    means = y.mean((1, 2, 3))
    assert means.std() > 0.05 and means.abs().max() <= 0.75


def test_gradients_flow_through_every_augmentation():
    x = torch.rand(2, 3, 8, 8, requires_grad=True)
    augment.diff_augment(x, "color,translation,cutout", gen()).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_hflip_flips_about_half():
    x = torch.arange(16.0).view(1, 1, 1, 16).repeat(200, 1, 1, 1)
    y = augment.hflip(x, gen())
    flipped = (y[:, 0, 0, 0] == 15).float().mean().item()
    assert 0.35 < flipped < 0.65
