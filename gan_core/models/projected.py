"""A discriminator on frozen ImageNet features (Projected GAN, Sauer et al. 2021).

D does not learn to see from scratch: images go through a pretrained EfficientNet-Lite0
(frozen, the offline weights of `gan_core.metrics.features`), whose feature maps at four
scales (1/4, 1/8, 1/16 and 1/32 of the input, upsampled to at least 128 px) are mixed by
fixed random 1x1 convolutions (the paper's cross-channel mixing; never trained, so D cannot
lean on a few features), and a small trainable head per scale scores them. The score is the
sum of the heads' mean patch logits.

The trainer uses it as a second discriminator beside the DCGAN D (`TrainConfig.aux_d`, as in
Vision-aided GAN, Kumari et al. 2022): alone, against our DCGAN generator, it collapsed G to
a single image within 200 steps in all three trials on the emoji set (trunk fed 64 px; hinge
or non-saturating loss; with or without batch norm in the heads); the pixel D keeps variety.
As a fine-tune of the bundled emoji64 (45,000 steps) it changed little that the eye can see:
1,000 steps at aux_d 0.2 and 500 at 1.0 kept the group shares (food 7.8% and 7.3% of 1,000
samples by the emoji-group classifier, 8.3% before) and, at 1.0, began to draw eyes onto
objects, the "ImageNet look" of feature-space Ds. It costs 4x per CPU step (docs/BENCHMARKS.md).

Caveat: FD, KID and precision/recall in `gan_core.metrics` use the same network's pooled
features, so a G trained against this D is partly trained in the metric's own feature space
and scores better there than it looks (Kynkäänniemi et al. 2023). Compare such runs by eye,
or with metrics in another feature space.

The feature network is kept out of `state_dict()` and `parameters()`: checkpoints hold only
the mixing and the heads, and the frozen weights are loaded from the installed package.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from gan_core.config import ModelConfig
from gan_core.metrics.features import IMAGENET_MEAN, IMAGENET_STD, efficientnet_lite0
from gan_core.models.layers import MinibatchStdDev, maybe_spectral_norm

# EfficientNet-Lite0 stages tapped: (blocks up to and including, channels, stride)
TAPS = ((1, 24, 4), (2, 40, 8), (4, 112, 16), (6, 320, 32))
MIX_WIDTHS = (64, 128, 256, 256)  # channels after the fixed random mixing, per scale
MIN_INPUT = 128  # smaller images are upsampled to this first: 64 px gives 32, 16, 8 and 4 px maps


class Head(nn.Module):
    """One scale's discriminator: strided convs down to 4x4 (or less), then patch logits."""

    def __init__(self, c_in: int, size: int, width: int, sn: bool, mbstd: bool, group: int):
        super().__init__()
        layers: list[nn.Module] = []
        c = c_in
        while size > 4:
            layers += [maybe_spectral_norm(nn.Conv2d(c, width, 4, 2, 1), sn), nn.LeakyReLU(0.2, inplace=True)]
            c, size = width, size // 2
        self.down = nn.Sequential(*layers)
        self.mbstd = MinibatchStdDev(group) if mbstd else None
        self.to_logits = maybe_spectral_norm(nn.Conv2d(c + int(mbstd), 1, 1), sn)

    def forward(self, x: Tensor) -> Tensor:
        h = self.down(x)
        if self.mbstd is not None:
            h = self.mbstd(h)
        return self.to_logits(h).mean(dim=(1, 2, 3))  # (B,)


class ProjectedDiscriminator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self._trunk = [efficientnet_lite0()]  # a list: not a submodule, so not saved or trained
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        # [-1, 1] -> ImageNet-normalised: x * a + b
        self.register_buffer("in_scale", 0.5 / std, persistent=False)
        self.register_buffer("in_shift", (0.5 - mean) / std, persistent=False)
        self.mix = nn.ModuleList(nn.Conv2d(c, w, 1, bias=False) for (_, c, _), w in zip(TAPS, MIX_WIDTHS))
        self.mix.requires_grad_(False)  # random projections, fixed for the whole run
        self.input_res = res = max(cfg.res, MIN_INPUT)
        self.blocks = nn.ModuleList(  # "blocks", as in the DCGAN D: FreezeD freezes the first N heads
            Head(w, max(1, res // stride), cfg.ndf * 2, cfg.spectral_norm, cfg.mbstd, cfg.mbstd_group)
            for (_, _, stride), w in zip(TAPS, MIX_WIDTHS)
        )
        self.feature_dim = MIX_WIDTHS[-1]
        self.embed = nn.Embedding(cfg.num_classes, self.feature_dim) if cfg.num_classes else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    @property
    def trunk(self) -> nn.Module:
        return self._trunk[0]

    def _apply(self, fn, recurse: bool = True):  # .to(), .cuda(), .half() also move the trunk
        self._trunk[0] = self.trunk._apply(fn)
        return super()._apply(fn, recurse)

    def train(self, mode: bool = True):
        super().train(mode)
        self.trunk.eval()  # frozen batch-norm statistics, always
        return self

    def features(self, x: Tensor) -> list[Tensor]:
        """The mixed feature maps at the four scales, for images x in [-1, 1]."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = x * self.in_scale.to(x.dtype) + self.in_shift.to(x.dtype)
        if x.shape[-1] != self.input_res:
            x = F.interpolate(x, size=(self.input_res, self.input_res), mode="bilinear", align_corners=False)
        t = self.trunk
        h = t.bn1(t.conv_stem(x))
        out, start = [], 0
        for (last, _, _), mix in zip(TAPS, self.mix):
            for block in t.blocks[start : last + 1]:
                h = block(h)
            start = last + 1
            out.append(mix(h))
        return out

    def forward(
        self, x: Tensor, y: Tensor | None = None, return_features: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """x: images in [-1, 1], (B, C, res, res). Returns scores (B,) [and features (B, F)]."""
        feats = self.features(x)
        score = sum(head(f) for head, f in zip(self.blocks, feats))
        pooled = feats[-1].mean(dim=(2, 3))  # (B, F)
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator is class-conditional: pass a class y")
            emb = y @ self.embed.weight if y.dim() == 2 else self.embed(y)
            score = score + (emb.to(pooled.dtype) * pooled).sum(1)
        if return_features:
            return score, pooled
        return score
