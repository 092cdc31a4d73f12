"""The second discriminator on frozen ImageNet features (Vision-aided GAN, `--aux-d`)."""

import pytest
import torch

from conftest import tiny_model, tiny_train, two_mode_set
from gan_core import checkpoint
from gan_core.models import build_aux_discriminator
from gan_core.train import Trainer
from gan_core.train.run_folder import RunFolder


@pytest.fixture(scope="module")
def aux():
    return build_aux_discriminator(tiny_model(res=32, channels=3, ndf=8, mbstd=True), seed=0)


def test_only_the_mixing_and_heads_are_saved_and_only_the_heads_train(aux):
    names = set(aux.state_dict())
    assert names and not any("trunk" in n or "conv_stem" in n for n in names)
    trunk_params = sum(p.numel() for p in aux.trunk.parameters())
    assert trunk_params > 3_000_000  # EfficientNet-Lite0, frozen beside the module
    assert all(not p.requires_grad for p in aux.trunk.parameters())
    assert all(not p.requires_grad for p in aux.mix.parameters())  # random projections stay fixed
    assert all(p.requires_grad for p in aux.blocks.parameters())
    aux.train()
    assert aux.blocks.training and not aux.trunk.training  # the trunk's batch-norm statistics never move


def test_scores_one_value_per_image_and_passes_gradients_to_the_image(aux):
    x = torch.rand(4, 3, 32, 32, requires_grad=True) * 2 - 1
    x.retain_grad()
    score = aux(x)
    assert score.shape == (4,) and torch.isfinite(score).all()
    score.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # G learns through the frozen trunk


def test_the_same_seed_builds_the_same_discriminator():
    cfg = tiny_model(res=16, channels=1)
    a, b = build_aux_discriminator(cfg, seed=3), build_aux_discriminator(cfg, seed=3)
    c = build_aux_discriminator(cfg, seed=4)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not torch.equal(a.mix[0].weight, c.mix[0].weight)


def test_training_with_it_moves_its_heads_keeps_the_mixing_and_changes_g_loss():
    data = two_mode_set(64, res=16)
    plain = Trainer(tiny_model(), tiny_train(steps=3), data)
    aided = Trainer(tiny_model(), tiny_train(steps=3, aux_d=1.0), data)
    assert plain.D_aux is None and aided.D_aux is not None
    head = aided.D_aux.blocks[0].to_logits.weight.detach().clone()
    mix = aided.D_aux.mix[0].weight.clone()
    m_plain, m_aided = list(plain.run())[-1], list(aided.run())[-1]
    assert "loss_d_aux" in m_aided and "loss_d_aux" not in m_plain
    assert not torch.equal(head, aided.D_aux.blocks[0].to_logits.weight)
    assert torch.equal(mix, aided.D_aux.mix[0].weight)
    assert m_aided["loss_g"] != m_plain["loss_g"]


def test_resume_with_it_is_exact(tmp_path):
    data = two_mode_set(64, res=16)
    cfg = tiny_train(steps=6, aux_d=0.5, diffaug="color,translation")
    straight = Trainer(tiny_model(), cfg, data)
    list(straight.run())
    first = Trainer(tiny_model(), cfg, data, callbacks=[RunFolder(tmp_path)])
    list(first.run(steps=3))
    tensors, meta = checkpoint.load_training_state(tmp_path)
    assert any(k.startswith("D_aux.") for k in tensors)
    resumed = Trainer(tiny_model(), cfg, data)
    resumed.restore(tensors, meta)
    list(resumed.run())
    a, b = straight.state_tensors(), resumed.state_tensors()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"
