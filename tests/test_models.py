import pytest
import torch

from gan_core.config import ModelConfig, preset
from gan_core.models import build_models


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def test_dcgan_preset_has_exactly_pytorch_examples_parameter_counts():
    g, d = build_models(preset("dcgan")[0])
    assert n_params(g) == 3_576_704  # pytorch/examples dcgan netG at nz 100, ngf 64
    assert n_params(d) == 2_765_568  # its netD at ndf 64


@pytest.mark.parametrize("res", [16, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_at_every_resolution(res, channels):
    cfg = ModelConfig(res=res, channels=channels, nz=8, ngf=4, ndf=4)
    g, d = build_models(cfg)
    x = g(torch.randn(2, 8))
    assert x.shape == (2, channels, res, res) and x.abs().max() <= 1
    assert d(x).shape == (2,)


def test_same_seed_same_weights_and_different_seed_different_weights():
    cfg = ModelConfig(res=16, nz=8, ngf=4, ndf=4, num_classes=3, spectral_norm=True, d_norm="none")
    a, b, c = build_models(cfg, 1), build_models(cfg, 1), build_models(cfg, 2)
    for x, y in zip(a[0].state_dict().values(), b[0].state_dict().values()):
        assert torch.equal(x, y)
    for x, y in zip(a[1].state_dict().values(), b[1].state_dict().values()):
        assert torch.equal(x, y)
    assert not torch.equal(a[0].to_img.weight, c[0].to_img.weight)


def test_spectral_norm_bounds_every_d_layer_to_unit_sigma():
    cfg = ModelConfig(res=16, nz=8, ngf=4, ndf=8, spectral_norm=True, d_norm="none")
    _, d = build_models(cfg)
    d.train()
    for _ in range(30):  # power iterations converge during forward passes
        d(torch.randn(4, 3, 16, 16))
    d.eval()
    for block in d.blocks:
        w = block.conv.weight.flatten(1)
        assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_conditional_generator_responds_to_the_class():
    cfg = ModelConfig(res=16, nz=8, ngf=8, ndf=8, num_classes=4)
    g, d = build_models(cfg)
    with torch.no_grad():  # give the class embeddings some spread, as training would
        for m in g.modules():
            if hasattr(m, "gamma"):
                m.gamma.weight.normal_(1.0, 0.3)
    g.eval()
    z = torch.randn(1, 8).repeat(4, 1)
    x = g(z, torch.arange(4))
    assert (x[0] - x[1]).abs().mean() > 0.05 * x.abs().mean()  # untrained outputs are tiny
    with pytest.raises(ValueError, match="class-conditional"):
        g(z)


def test_soft_class_weights_blend_classes():
    cfg = ModelConfig(res=16, nz=8, ngf=8, ndf=8, num_classes=2)
    g, _ = build_models(cfg)
    g.eval()
    z = torch.randn(1, 8)
    onehot = g(z, torch.tensor([[1.0, 0.0]]))
    assert torch.allclose(onehot, g(z, torch.tensor([0])), atol=1e-6)


def test_projection_discriminator_uses_the_class():
    cfg = ModelConfig(res=16, nz=8, ngf=8, ndf=8, num_classes=3)
    _, d = build_models(cfg)
    d.eval()
    x = torch.randn(1, 3, 16, 16).repeat(3, 1, 1, 1)
    s = d(x, torch.arange(3))
    assert s.unique().numel() == 3


@pytest.mark.parametrize("option", [dict(mbstd=True), dict(minibatch_disc=4)])
def test_minibatch_layers_make_d_see_the_whole_batch(option):
    cfg = ModelConfig(res=16, nz=8, ngf=8, ndf=8, d_norm="none", **option)
    _, d = build_models(cfg)
    d.eval()
    x = torch.randn(4, 3, 16, 16)
    alone = d(x[:2])
    varied = d(torch.cat([x[:2], x[2:] * 5]))[:2]  # same first two images, different batch-mates
    assert not torch.allclose(alone, varied)
    plain = build_models(ModelConfig(res=16, nz=8, ngf=8, ndf=8, d_norm="none"))[1].eval()
    assert torch.allclose(plain(x[:2]), plain(torch.cat([x[:2], x[2:] * 5]))[:2], atol=1e-6)


def test_dropout_makes_d_stochastic_in_training_only():
    cfg = ModelConfig(res=16, nz=8, ngf=8, ndf=8, d_dropout=0.5)
    _, d = build_models(cfg)
    x = torch.randn(4, 3, 16, 16)
    d.train()
    assert not torch.equal(d(x), d(x))
    d.eval()
    assert torch.equal(d(x), d(x))


def test_features_for_feature_matching():
    cfg = ModelConfig(res=32, nz=8, ngf=8, ndf=8)
    _, d = build_models(cfg)
    score, feats = d(torch.randn(3, 3, 32, 32), return_features=True)
    assert score.shape == (3,) and feats.shape == (3, d.feature_dim)
