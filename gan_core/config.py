"""Typed configs, one per concern, that round-trip through JSON.

`ModelConfig` fully describes a generator/discriminator pair, `DataConfig` how images
become a training tensor, `TrainConfig` the optimisation. Every field is checked when a
config is built from a dict (JSON, CLI overrides, a form), so a wrong type or an
out-of-range value fails at the boundary with the field's name in the message.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gan_core.errors import GanStudioError

RESOLUTIONS = (16, 32, 64, 128, 256)
LOSSES = ("ns", "minimax", "lsgan", "wgan", "hinge")
PENALTIES = ("none", "wgan-gp", "zero-gp", "r1")
PRECISIONS = ("auto", "fp32", "bf16")
SCHEDULES = ("constant", "linear", "cosine")


class ConfigError(GanStudioError, ValueError):
    """A config field has the wrong type or an out-of-range value.

    `field` names it (a dataclass field, e.g. "steps") and, for a range, `value` and
    `bounds` say what was given and allowed, so a UI can say it with its own label and words.
    """

    def __init__(self, message: str, *, field: str | None = None, value: Any = None,
                 bounds: tuple[Any, Any] | None = None):
        super().__init__(message)
        self.field, self.value, self.bounds = field, value, bounds


class _JsonConfig:
    """Mixin: `to_dict`/`from_dict`/`to_json`/`from_json` with type and range checks."""

    # field name -> (low, high) inclusive bounds for numbers, or a tuple of allowed strings
    _checks: ClassVar[dict[str, Any]] = {}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, strict: bool = True):
        """Build from a dict. Unknown keys raise when `strict` (typos must not pass silently)."""
        if not isinstance(d, dict):
            raise ConfigError(f"{cls.__name__}: expected a JSON object, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown and strict:
            raise ConfigError(f"{cls.__name__}: unknown field(s) {', '.join(unknown)}")
        hints = typing.get_type_hints(cls)
        kwargs = {k: _coerce(cls.__name__, k, v, hints[k]) for k, v in d.items() if k in names}
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str, *, strict: bool = True):
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{cls.__name__}: not valid JSON ({e})") from None
        return cls.from_dict(d, strict=strict)

    def replace(self, **changes):
        """A copy with `changes` applied and checked, e.g. from CLI overrides."""
        d = self.to_dict()
        d.update(changes)
        return type(self).from_dict(d)

    def __post_init__(self) -> None:
        for name, rule in self._checks.items():
            value = getattr(self, name)
            if isinstance(rule, tuple) and rule and isinstance(rule[0], str):
                if value not in rule:
                    raise ConfigError(
                        f"{type(self).__name__}.{name}: {value!r} is not one of {', '.join(rule)}", field=name
                    )
            elif value is not None:
                low, high = rule
                if isinstance(value, float) and not math.isfinite(value):
                    raise ConfigError(f"{type(self).__name__}.{name}: must be a finite number", field=name)
                if not low <= value <= high:
                    raise ConfigError(
                        f"{type(self).__name__}.{name}: {value} is out of range [{low}, {high}]",
                        field=name, value=value, bounds=(low, high),
                    )


def _coerce(owner: str, name: str, value: Any, hint: Any) -> Any:
    """Check `value` against a simple type hint; ints are accepted where floats are."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or str(origin) == "types.UnionType":
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{owner}.{name}: expected a list, got {value!r}", field=name)
        item = args[0] if args else Any
        items = [_coerce(owner, name, v, item) for v in value]
        return tuple(items) if origin is tuple else items
    if hint is Any:
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{owner}.{name}: expected a number, got {value!r}", field=name)
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{owner}.{name}: expected an integer, got {value!r}", field=name)
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{owner}.{name}: expected true or false, got {value!r}", field=name)
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{owner}.{name}: expected a string, got {value!r}", field=name)
        return value
    return value


@dataclass
class ModelConfig(_JsonConfig):
    """A DCGAN-family generator and discriminator (Radford et al. 2015)."""

    res: int = 64  # output resolution in px, a power of two
    channels: int = 3  # 1 for grayscale sets, 3 for RGB
    nz: int = 100  # latent size
    ngf: int = 64  # generator width: channels of its last hidden layer
    ndf: int = 64  # discriminator width: channels of its first layer
    num_classes: int = 0  # 0 = unconditional; >0 adds conditional BN in G and projection in D
    class_concat: bool = False  # conditional G: also concatenate a class embedding to z (strong, but G may ignore z)
    d_norm: str = "bn"  # "bn" (DCGAN) or "none" (use with WGAN-GP / spectral norm)
    spectral_norm: bool = False  # spectral normalisation of every D layer (Miyato et al. 2018)
    d_dropout: float = 0.0  # dropout after each hidden D activation
    mbstd: bool = False  # minibatch-stddev channel before D's last layer (Karras et al. 2018)
    mbstd_group: int = 4  # group size of the minibatch-stddev statistic
    minibatch_disc: int = 0  # minibatch-discrimination kernels (Salimans et al. 2016); 0 = off
    minibatch_disc_dim: int = 8  # dimension of each minibatch-discrimination kernel

    _checks: ClassVar[dict[str, Any]] = {
        "res": (16, 256),
        "channels": (1, 3),
        "nz": (1, 1024),
        "ngf": (1, 1024),
        "ndf": (1, 1024),
        "num_classes": (0, 10_000),
        "d_norm": ("bn", "none"),
        "d_dropout": (0.0, 0.9),
        "mbstd_group": (1, 256),
        "minibatch_disc": (0, 1024),
        "minibatch_disc_dim": (1, 256),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.res not in RESOLUTIONS:
            raise ConfigError(
                f"ModelConfig.res: {self.res} is not supported; use one of "
                f"{', '.join(map(str, RESOLUTIONS))}"
            )
        if self.channels not in (1, 3):
            raise ConfigError("ModelConfig.channels: must be 1 (grayscale) or 3 (RGB)")

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0


@dataclass
class DataConfig(_JsonConfig):
    """How a folder, file list or zip becomes a uint8 training tensor."""

    res: int = 64  # training resolution in px
    fit: str = "crop"  # "crop" (centre crop to square) or "pad" (pad to square)
    max_images: int = 50_000  # memory bound on the number of images kept
    min_size: int = 16  # smallest accepted side in px
    max_aspect: float = 8.0  # largest accepted long/short side ratio
    dedupe: bool = True  # drop exact duplicates (by content hash)
    grayscale: str = "auto"  # "auto" keeps an all-grayscale set as 1 channel; "rgb" forces 3

    _checks: ClassVar[dict[str, Any]] = {
        "fit": ("crop", "pad"),
        "max_images": (1, 1_000_000),
        "min_size": (1, 4096),
        "max_aspect": (1.0, 1000.0),
        "grayscale": ("auto", "rgb"),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.res not in RESOLUTIONS:
            raise ConfigError(
                f"DataConfig.res: {self.res} is not supported; use one of "
                f"{', '.join(map(str, RESOLUTIONS))}"
            )


@dataclass
class TrainConfig(_JsonConfig):
    """Optimisation, losses, regularisers, augmentation and bookkeeping of a run."""

    loss: str = "ns"  # ns | minimax | lsgan | wgan | hinge
    penalty: str = "none"  # none | wgan-gp (1-centred, interpolates) | zero-gp | r1 (on reals)
    penalty_weight: float = 10.0  # lambda of the penalty
    feature_matching: float = 0.0  # weight of the feature-matching term in G's loss
    aux_d: float = 0.0  # weight in G's loss of a second D on frozen ImageNet features (Vision-aided GAN); 0 = off
    batch_size: int = 64  # images per step
    lr_g: float = 2e-4  # generator learning rate
    lr_d: float = 2e-4  # discriminator learning rate (TTUR: set apart from lr_g)
    beta1: float = 0.5  # Adam beta1; 0.5 matters for GANs, 0.9 tends to oscillate
    beta2: float = 0.999  # Adam beta2
    weight_decay: float = 0.0  # L2 weight decay of both optimisers
    schedule: str = "constant"  # learning-rate schedule over the run: constant | linear | cosine
    d_steps: int = 1  # discriminator steps per generator step (n_critic)
    diffaug: str = ""  # DiffAugment policy, comma-separated: color,translation,cutout
    hflip: bool = False  # random horizontal flips of real images
    ema: float = 0.0  # EMA decay of G for sampling; 0 = off (the EMA copy tracks G exactly)
    ema_rampup: bool = True  # ramp EMA decay up from 0 early in training
    label_smoothing: float = 0.0  # one-sided: real targets 1 - s (ns/minimax only)
    freeze_d: int = 0  # freeze the first N discriminator blocks (FreezeD, for fine-tuning)
    steps: int = 2000  # generator steps to train (the run's length for schedules)
    minutes: float = 0.0  # wall-clock budget; 0 = no limit (whichever comes first ends the run)
    seed: int = 0  # seeds weights, batches, noise and augmentation
    precision: str = "auto"  # auto (bf16 where supported) | fp32 | bf16
    channels_last: bool = True  # memory format on CPU and CUDA
    sample_every: int = 200  # steps between fixed-z sample grids
    ckpt_every: int = 1000  # steps between checkpoints
    log_every: int = 10  # steps between metrics.jsonl lines
    n_fixed: int = 64  # images in the fixed-z grid
    max_rollbacks: int = 3  # non-finite losses tolerated before the run stops

    _checks: ClassVar[dict[str, Any]] = {
        "loss": LOSSES,
        "penalty": PENALTIES,
        "penalty_weight": (0.0, 1e4),
        "feature_matching": (0.0, 1e4),
        "aux_d": (0.0, 100.0),
        "batch_size": (1, 4096),
        "lr_g": (0.0, 1.0),
        "lr_d": (0.0, 1.0),
        "beta1": (0.0, 0.9999),
        "beta2": (0.0, 0.99999),
        "weight_decay": (0.0, 1.0),
        "schedule": SCHEDULES,
        "d_steps": (1, 100),
        "ema": (0.0, 0.99999),
        "label_smoothing": (0.0, 0.5),
        "freeze_d": (0, 16),
        "steps": (1, 10_000_000),
        "minutes": (0.0, 100_000.0),
        "seed": (0, 2**63 - 1),
        "precision": PRECISIONS,
        "sample_every": (1, 10_000_000),
        "ckpt_every": (1, 10_000_000),
        "log_every": (1, 10_000_000),
        "n_fixed": (1, 256),
        "max_rollbacks": (0, 1000),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.diffaug:
            allowed = {"color", "translation", "cutout"}
            bad = [p for p in self.diffaug.split(",") if p.strip() not in allowed]
            if bad:
                raise ConfigError(
                    f"TrainConfig.diffaug: unknown policy {', '.join(bad)}; "
                    "use a comma-separated subset of color,translation,cutout"
                )


@dataclass
class RunConfig(_JsonConfig):
    """Everything a run folder's config.json holds: model, training and the data it saw."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    class_names: list[str] = field(default_factory=list)  # index -> class folder name
    data: str = ""  # a human description of the data (name, count)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, strict: bool = True) -> "RunConfig":
        if not isinstance(d, dict):
            raise ConfigError(f"RunConfig: expected a JSON object, got {type(d).__name__}")
        return cls(
            model=ModelConfig.from_dict(d.get("model", {}), strict=strict),
            train=TrainConfig.from_dict(d.get("train", {}), strict=strict),
            class_names=_coerce("RunConfig", "class_names", d.get("class_names", []), list[str]),
            data=_coerce("RunConfig", "data", d.get("data", ""), str),
        )


# Presets are a small table (as in StyleGAN's cfg_specs): name -> (model overrides, train overrides).
PRESETS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # pytorch/examples dcgan, exactly: nz 100, ngf/ndf 64, BCE, Adam 2e-4 (0.5, 0.999), batch 64
    "dcgan": (
        dict(res=64, nz=100, ngf=64, ndf=64),
        dict(loss="ns", batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999),
    ),
    # small and fast on a 2-core CPU: recognisable structure in minutes at 32 px
    "quick": (
        dict(res=32, nz=64, ngf=32, ndf=32, d_norm="none", spectral_norm=True, mbstd=True),
        dict(loss="hinge", batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.99,
             diffaug="color,translation", ema=0.999, hflip=True),
    ),
    # CPU at 64 px
    "cpu64": (
        dict(res=64, nz=100, ngf=48, ndf=48, d_norm="none", spectral_norm=True, mbstd=True),
        dict(loss="hinge", batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.99,
             diffaug="color,translation", ema=0.999, hflip=True),
    ),
    # quality: hinge + SN + DiffAugment + EMA at full width
    "quality": (
        dict(res=64, nz=128, ngf=64, ndf=64, d_norm="none", spectral_norm=True, mbstd=True),
        dict(loss="hinge", batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.99,
             diffaug="color,translation,cutout", ema=0.999, hflip=True),
    ),
}


def preset(name: str, **train_overrides: Any) -> tuple[ModelConfig, TrainConfig]:
    """The configs of a named preset, with training overrides applied and checked."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
    model, train = PRESETS[name]
    return ModelConfig.from_dict(dict(model)), TrainConfig.from_dict({**train, **train_overrides})
