"""Transfer learning: weights cross between class counts and between conditional and plain G."""

import torch

from gan_core.checkpoint import save_generator
from gan_core.config import ModelConfig, RunConfig, TrainConfig
from gan_core.data.imageset import ImageSet
from gan_core.models import build_models
from gan_core.train.finetune import load_pretrained
from gan_core.train.trainer import Trainer


def _source(tmp_path, classes: int):
    cfg = ModelConfig(res=16, channels=3, nz=8, ngf=8, ndf=8, num_classes=classes)
    g, _ = build_models(cfg, seed=1)
    with torch.no_grad():
        for m in g.modules():
            if hasattr(m, "gamma"):
                m.gamma.weight.copy_(torch.arange(classes, dtype=torch.float32)[:, None] + 1)  # class k scales by k+1
    save_generator(tmp_path / "model.safetensors", g, RunConfig(model=cfg, class_names=[str(k) for k in range(classes)]))
    return cfg, tmp_path


def _trainer(cfg: ModelConfig) -> Trainer:
    n = max(cfg.num_classes, 1)
    data = ImageSet(torch.zeros(8, 3, 16, 16, dtype=torch.uint8).numpy(), (torch.arange(8) % n).numpy(),
                    [str(k) for k in range(n)], "blank")
    return Trainer(cfg, TrainConfig(steps=1, batch_size=4, precision="fp32"), data)


def test_a_new_class_count_keeps_the_shared_classes_and_starts_new_ones_at_their_mean(tmp_path):
    cfg, src = _source(tmp_path, classes=3)
    t = _trainer(cfg.replace(num_classes=5))
    report = load_pretrained(t, src)
    gamma = t.G.blocks[0].norm.gamma.weight
    assert torch.equal(gamma[:3, 0], torch.tensor([1.0, 2.0, 3.0]))
    assert torch.equal(gamma[3:, 0], torch.tensor([2.0, 2.0]))  # mean of 1, 2, 3
    assert "blocks.0.norm.gamma.weight: 3 -> 5 classes" in report.adapted["G"]
    assert report.skipped["G"] == []
    assert "3 -> 5 classes" in report.to_text()


def test_a_conditional_source_averages_into_a_plain_model_and_back(tmp_path):
    cfg, src = _source(tmp_path / "cond", classes=3)
    plain = _trainer(cfg.replace(num_classes=0))
    load_pretrained(plain, src)
    assert torch.allclose(plain.G.blocks[0].norm.weight, torch.full_like(plain.G.blocks[0].norm.weight, 2.0))

    (tmp_path / "plain").mkdir()
    save_generator(tmp_path / "plain" / "model.safetensors", plain.G, RunConfig(model=plain.model_cfg))
    cond = _trainer(cfg.replace(num_classes=4))
    report = load_pretrained(cond, tmp_path / "plain")
    assert torch.allclose(cond.G.blocks[0].norm.gamma.weight, torch.full((4, cond.G.blocks[0].norm.gamma.weight.shape[1]), 2.0))
    assert report.skipped["G"] == [] and any("one affine for every class" in a for a in report.adapted["G"])
