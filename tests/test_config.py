import json

import pytest

from gan_core.config import ConfigError, ModelConfig, PRESETS, RunConfig, TrainConfig, preset


def test_configs_round_trip_through_json():
    m = ModelConfig(res=32, num_classes=4, spectral_norm=True, d_dropout=0.25)
    t = TrainConfig(loss="hinge", penalty="r1", diffaug="color,cutout", ema=0.99)
    r = RunConfig(model=m, train=t, class_names=["a", "b", "c", "d"], data="x")
    assert RunConfig.from_json(r.to_json()) == r
    assert ModelConfig.from_json(m.to_json()) == m


@pytest.mark.parametrize(
    "cls, field, value, words",
    [
        (ModelConfig, "res", 7, "res"),
        (TrainConfig, "steps", -5, "steps"),
        (TrainConfig, "lr_d", 1e9, "lr_d"),
        (TrainConfig, "loss", "bogus", "loss"),
        (TrainConfig, "batch_size", 3.5, "batch_size"),
        (TrainConfig, "hflip", "yes", "hflip"),
        (TrainConfig, "diffaug", "color,blur", "blur"),
        (TrainConfig, "lr_g", float("nan"), "lr_g"),
    ],
)
def test_bad_values_name_the_field(cls, field, value, words):
    with pytest.raises(ConfigError, match=words):
        cls.from_dict({field: value})


def test_unknown_fields_are_refused_not_ignored():
    with pytest.raises(ConfigError, match="unknown field"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_ints_are_accepted_where_floats_are_expected():
    assert TrainConfig.from_dict({"lr_g": 1}).lr_g == 1.0


def test_dcgan_preset_is_pytorch_examples_dcgan():
    m, t = preset("dcgan")
    assert (m.res, m.nz, m.ngf, m.ndf, m.d_norm, m.spectral_norm) == (64, 100, 64, 64, "bn", False)
    assert (t.loss, t.batch_size, t.lr_g, t.lr_d, t.beta1, t.beta2) == ("ns", 64, 2e-4, 2e-4, 0.5, 0.999)
    assert (t.ema, t.diffaug, t.penalty) == (0.0, "", "none")


def test_every_preset_builds_valid_configs():
    for name in PRESETS:
        m, t = preset(name)
        json.loads(m.to_json()), json.loads(t.to_json())
