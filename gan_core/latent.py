"""Latent tools: seeds, interpolation, easing, truncation, looping walks, generation, projection.

A generator maps z ~ N(0, I) of shape (nz,) to an image. Everything a user does with a
latent space happens here, as small pure functions on tensors; nothing reads globals and
all randomness comes in as a seed or a `torch.Generator`:

- a *seed* names a latent (`seed_latent`), the same on every machine and device;
- `lerp` / `slerp` move between latents, `EASINGS` shape the motion in time;
- class weights blend classes of a conditional G (its batch norm is linear in them);
- truncation trades variety for typicality (psi toward the mean, or resampling);
- walks are paths of latents indexed by a position in turns, so a loop closes exactly;
- `generate` turns latents into uint8 images, batched, in bf16 where the CPU has it;
- `project` finds the latent (and class) of a given image by optimisation.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gan_core.device import autocast, resolve_precision
from gan_core.errors import GanStudioError

MAX_SEED = 2**63 - 1
INTERPS = ("slerp", "lerp")


class LatentError(GanStudioError, ValueError):
    """A bad latent-space argument (seed, easing, truncation, class, image)."""


# ---------------------------------------------------------------------------- seeds


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise LatentError(f"seed {seed!r} must be an integer from 0 to {MAX_SEED}")
    return int(seed)


def seed_latent(seed: int, nz: int) -> Tensor:
    """The latent named by `seed`: z ~ N(0, I), shape (nz,), float32, on the CPU.

    Drawn with its own CPU `torch.Generator` (Mersenne Twister), never the global RNG and
    never a CUDA generator, so a seed typed in the UI gives the same image on any machine
    and device (move z afterwards). z depends on (seed, nz): another nz is another latent.
    """
    g = torch.Generator(device="cpu").manual_seed(_check_seed(seed))
    return torch.randn(nz, generator=g, dtype=torch.float32)


def parse_seeds(text: str, max_count: int = 1024) -> list[int]:
    """Seeds from text such as "1,2,3", "1 2 3", "0-7" or "3, 10 - 12" (ranges inclusive), in order."""
    seeds: list[int] = []
    text = re.sub(r"(?<=\d)\s*-\s*(?=\d)", "-", str(text))  # "10 - 12" is one range
    for part in re.split(r"[,\s]+", text):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise LatentError(f"seeds: {part!r} is not a seed or a range like 0-7 (use non-negative integers)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise LatentError(f"seeds: range {part} goes backwards")
        if len(seeds) + hi - lo + 1 > max_count:
            raise LatentError(f"seeds: at most {max_count} seeds at a time; remove some")
        seeds.extend(_check_seed(s) for s in range(lo, hi + 1))
    if not seeds:
        raise LatentError("seeds: give at least one seed, e.g. 1,2,3")
    return seeds


def seed_latents(seeds: Sequence[int], nz: int) -> Tensor:
    """`seed_latent` for each seed, stacked: (K, nz)."""
    if len(seeds) == 0:
        return torch.empty(0, nz)
    return torch.stack([seed_latent(s, nz) for s in seeds])


# ---------------------------------------------------------------------------- interpolation


def _t(t: float | Tensor, ref: Tensor) -> Tensor:
    """t as a (..., 1) tensor that broadcasts against (..., D) vectors."""
    return torch.as_tensor(t, dtype=ref.dtype, device=ref.device).unsqueeze(-1)


def lerp(a: Tensor, b: Tensor, t: float | Tensor) -> Tensor:
    """(1 - t) a + t b. a, b: (..., D); t: scalar or (...,) broadcasting with the batch dims.

    E.g. a, b of shape (D,) and t of shape (T,) give a (T, D) path.
    """
    return a + (b - a) * _t(t, a)


def _orthogonal(u: Tensor) -> Tensor:
    """A unit vector orthogonal to each unit vector u (..., D), D >= 2, chosen deterministically.

    Gram-Schmidt on the basis vector where |u_k| is smallest: |u_k| <= 1/sqrt(D), so the
    remainder has norm >= sqrt(1 - 1/D) and the division is always well conditioned.
    """
    k = u.abs().argmin(dim=-1, keepdim=True)
    e = torch.zeros_like(u).scatter_(-1, k, 1.0)
    w = e - (u * e).sum(-1, keepdim=True) * u
    return w / w.norm(dim=-1, keepdim=True)


def slerp(a: Tensor, b: Tensor, t: float | Tensor, eps: float = 1e-9) -> Tensor:
    """Spherical interpolation: along the great circle from a's direction to b's, norm lerped.

    a, b: (..., D); t: scalar or (...,) as in `lerp`. With u_a, u_b the unit directions,
    omega = angle(u_a, u_b) and v the unit vector of u_b - (u_a . u_b) u_a (in the plane of
    the circle, orthogonal to u_a):

        slerp(a, b, t) = ((1 - t)|a| + t|b|) * (cos(t omega) u_a + sin(t omega) v)

    which equals Shoemake's sin((1-t)w)/sin(w) form but never divides by sin(omega), so
    parallel vectors give no NaN. Antiparallel vectors have no unique great circle: v is
    then a fixed vector orthogonal to u_a (any is correct; this one is deterministic).
    omega = 2 atan2(|u_a - u_b|, |u_a + u_b|) is accurate near 0 and pi, where acos is not.
    A zero vector, or D == 1, has no direction: those fall back to `lerp`. Computed in
    float64, returned in a's dtype. For unit inputs the result has unit norm.
    """
    out_dtype = a.dtype
    a64, b64 = a.double(), b.double()
    t64 = _t(t, a64)
    if a.shape[-1] < 2:
        return lerp(a64, b64, t).to(out_dtype)
    na = a64.norm(dim=-1, keepdim=True)  # (..., 1)
    nb = b64.norm(dim=-1, keepdim=True)
    ua, ub = a64 / na.clamp_min(eps), b64 / nb.clamp_min(eps)
    omega = 2 * torch.atan2((ua - ub).norm(dim=-1, keepdim=True), (ua + ub).norm(dim=-1, keepdim=True))
    perp = ub - (ua * ub).sum(-1, keepdim=True) * ua  # component of u_b orthogonal to u_a
    pn = perp.norm(dim=-1, keepdim=True)
    v = torch.where(pn > 1e-7, perp / pn.clamp_min(1e-7), _orthogonal(ua))
    direction = torch.cos(t64 * omega) * ua + torch.sin(t64 * omega) * v
    out = direction * (na + (nb - na) * t64)
    degenerate = (na < eps) | (nb < eps)
    return torch.where(degenerate, lerp(a64, b64, t), out).to(out_dtype)


INTERPOLATORS: dict[str, Callable[[Tensor, Tensor, float | Tensor], Tensor]] = {
    "slerp": slerp,
    "lerp": lerp,
}


def interpolator(name: str) -> Callable[[Tensor, Tensor, float | Tensor], Tensor]:
    if name not in INTERPOLATORS:
        raise LatentError(f"interpolation {name!r} is not one of {', '.join(INTERPOLATORS)}")
    return INTERPOLATORS[name]


# ---------------------------------------------------------------------------- easing


def ease_linear(t: Tensor) -> Tensor:
    """Constant speed: e(t) = t."""
    return torch.as_tensor(t)


def ease_smoothstep(t: Tensor) -> Tensor:
    """e(t) = 3t^2 - 2t^3: zero speed at both ends, so a walk rests on each keyframe."""
    t = torch.as_tensor(t)
    return t * t * (3 - 2 * t)


def ease_cosine(t: Tensor) -> Tensor:
    """e(t) = (1 - cos(pi t)) / 2: like smoothstep, with a sinusoidal speed profile."""
    t = torch.as_tensor(t)
    return 0.5 - 0.5 * torch.cos(math.pi * t)


EASINGS: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": ease_linear,
    "smoothstep": ease_smoothstep,
    "cosine": ease_cosine,
}


def easing(name: str) -> Callable[[Tensor], Tensor]:
    """An easing curve by name: maps t in [0, 1] to [0, 1], with e(0) = 0 and e(1) = 1."""
    if name not in EASINGS:
        raise LatentError(f"easing {name!r} is not one of {', '.join(EASINGS)}")
    return EASINGS[name]


# ---------------------------------------------------------------------------- classes


def one_hot(index: int | Tensor, num_classes: int) -> Tensor:
    """Class weights (..., K) float32 with 1 at `index`: what a conditional G takes as soft y."""
    index = torch.as_tensor(index, dtype=torch.long)
    if num_classes < 1 or bool(((index < 0) | (index >= num_classes)).any()):
        raise LatentError(f"class index {index.tolist()} is out of range for {num_classes} classes")
    return F.one_hot(index, num_classes).float()


def class_index(spec: int | str, class_names: Sequence[str], num_classes: int) -> int:
    """A class given by index ("3") or by name ("cat", case-insensitive) -> its index."""
    if num_classes < 1:
        raise LatentError("this model is unconditional: it has no classes to choose from")
    text = str(spec).strip()
    names = [n.lower() for n in class_names]
    if text.lower() in names:
        return names.index(text.lower())
    if text.isdigit() and int(text) < num_classes:
        return int(text)
    shown = ", ".join(class_names[:10]) + (", ..." if len(class_names) > 10 else "")
    raise LatentError(
        f"class {text!r} is not a class of this model: use an index from 0 to {num_classes - 1}"
        + (f" or a name ({shown})" if class_names else "")
    )


def class_blend(a: int, b: int, t: float | Tensor, num_classes: int) -> Tensor:
    """Weights (1 - t) onehot(a) + t onehot(b), shape (K,) or (T, K) for t of shape (T,).

    The conditional G's batch norm computes gamma = y @ Gamma and beta = y @ Beta, linear
    in y, so blending one-hot weights blends the two classes' embeddings exactly.
    """
    return lerp(one_hot(a, num_classes), one_hot(b, num_classes), t)


# ---------------------------------------------------------------------------- truncation


def truncate(z: Tensor, psi: float, mean: Tensor | None = None) -> Tensor:
    """The truncation trick toward the mean latent: z' = mean + psi (z - mean).

    psi = 1 changes nothing, psi < 1 gives more typical, less varied images, psi = 0 the
    mean image. For z ~ N(0, I) the mean latent is 0, the default. z: (..., nz).
    """
    if not math.isfinite(psi) or not 0.0 <= psi <= 2.0:
        raise LatentError(f"truncation psi {psi} must be between 0 and 2 (1 = off)")
    if mean is None:
        return z * psi
    return mean + psi * (z - mean)


def resample_truncated(
    z: Tensor, threshold: float, generator: torch.Generator, max_rounds: int = 1000
) -> Tensor:
    """Truncation by resampling (Brock et al. 2019, BigGAN): redraw every entry with |z_i| > threshold.

    Entries within the threshold are kept, so a seed's image changes as little as possible.
    Fresh draws come from `generator` (a CPU generator), in order, so the result is
    reproducible. After `max_rounds` (only reachable with a tiny threshold) the rest is clamped.
    """
    if not math.isfinite(threshold) or threshold <= 0:
        raise LatentError(f"truncation threshold {threshold} must be a positive number")
    out = z.detach().to("cpu", torch.float32).clone()
    for _ in range(max_rounds):
        bad = out.abs() > threshold
        n = int(bad.sum())
        if n == 0:
            break
        out[bad] = torch.randn(n, generator=generator)
    return out.clamp(-threshold, threshold).to(z.device, z.dtype)


# ---------------------------------------------------------------------------- walks


def loop_positions(n_frames: int) -> Tensor:
    """Positions of n frames around a loop, in turns: i / n for i < n, float64 (n,)."""
    if n_frames < 1:
        raise LatentError(f"a walk needs at least 1 frame, got {n_frames}")
    return torch.arange(n_frames, dtype=torch.float64) / n_frames


def _segments(n_keys: int, positions: Tensor, ease: str) -> tuple[Tensor, Tensor, Tensor]:
    """For positions in turns (periodic with period 1): (key index, next key index, eased t).

    Position 1 wraps to exactly 0, so the frame after the last of a loop is its first frame.
    """
    p = torch.remainder(torch.as_tensor(positions, dtype=torch.float64), 1.0) * n_keys
    i0 = p.floor().long().clamp_(0, n_keys - 1)
    t = easing(ease)(p - i0)
    return i0, (i0 + 1) % n_keys, t


def keyframe_loop(
    keys: Tensor, positions: Tensor, interp: str = "slerp", ease: str = "linear"
) -> Tensor:
    """Latents on a closed path through K keyframes, back to the first: (N, nz).

    keys: (K, nz). positions: (N,) in turns; position u lies in segment floor(uK) between
    key i and key i+1 (mod K) at t = ease(uK - i). Since positions are taken mod 1,
    position 1 gives exactly the latent of position 0: a video of `loop_positions(n)`
    loops seamlessly.
    """
    if keys.dim() != 2 or keys.shape[0] < 1:
        raise LatentError(f"keyframes must be (K, nz) with K >= 1, got {tuple(keys.shape)}")
    i0, i1, t = _segments(keys.shape[0], positions, ease)
    return interpolator(interp)(keys[i0], keys[i1], t)


def class_loop(
    classes: Sequence[int], num_classes: int, positions: Tensor, ease: str = "linear"
) -> Tensor:
    """Class weights (N, num_classes) on the same closed path as `keyframe_loop`.

    Keyframe i has class classes[i]; between keyframes the one-hot weights are blended
    with the same eased t as the latents, so class and latent change together.
    """
    onehots = one_hot(torch.as_tensor(list(classes), dtype=torch.long), num_classes)  # (K, C)
    i0, i1, t = _segments(len(classes), positions, ease)
    return lerp(onehots[i0], onehots[i1], t)


def great_circle_loop(nz: int, positions: Tensor, seed: int) -> Tensor:
    """A smooth random loop: a great circle of the latent sphere, (N, nz).

    Two seeded draws a, b ~ N(0, I) span a plane; with u = a/|a| and v the unit part of b
    orthogonal to u, z(theta) = r (cos(theta) u + sin(theta) v), theta = 2 pi position,
    r = (|a| + |b|) / 2 (the typical norm of N(0, I), about sqrt(nz)). Every frame has the
    same norm, the motion has constant speed and no keyframe kinks, and it closes exactly.
    """
    if nz < 2:
        raise LatentError("a great-circle loop needs nz >= 2")
    g = torch.Generator(device="cpu").manual_seed(_check_seed(seed))
    a = torch.randn(nz, generator=g, dtype=torch.float64)
    b = torch.randn(nz, generator=g, dtype=torch.float64)
    u = a / a.norm()
    v = b - (b @ u) * u
    v = v / v.norm()
    theta = 2 * math.pi * torch.remainder(torch.as_tensor(positions, dtype=torch.float64), 1.0)
    r = (a.norm() + b.norm()) / 2
    return (r * (torch.cos(theta)[:, None] * u + torch.sin(theta)[:, None] * v)).float()


def endless_walk(
    nz: int,
    seed: int,
    frames_per_key: int,
    interp: str = "slerp",
    ease: str = "smoothstep",
    psi: float = 1.0,
    chunk: int = 30,
) -> Iterator[Tensor]:
    """An endless walk for live streaming: chunks of latents (chunk, nz), forever.

    Keyframe j is `seed_latent(seed + j)`, so the stream passes through named seeds
    (seed, seed + 1, ...) and restarting with the same seed replays it exactly.
    `frames_per_key` frames go from each keyframe to the next; truncation `psi` applies
    to every keyframe (slerp and lerp commute with scaling toward 0).
    """
    _check_seed(seed)
    if frames_per_key < 1 or chunk < 1:
        raise LatentError("frames_per_key and chunk must be at least 1")
    interp_fn, ease_fn = interpolator(interp), easing(ease)
    truncate(torch.zeros(1), psi)  # validates psi before the first chunk is asked for
    frame = 0
    while True:
        idx = torch.arange(frame, frame + chunk)
        seg = idx // frames_per_key
        t = ease_fn((idx % frames_per_key).double() / frames_per_key)
        first = int(seg[0])
        keys = {s: truncate(seed_latent((seed + s) % (MAX_SEED + 1), nz), psi)
                for s in range(first, int(seg[-1]) + 2)}
        a = torch.stack([keys[int(s)] for s in seg])
        b = torch.stack([keys[int(s) + 1] for s in seg])
        yield interp_fn(a, b, t)
        frame += chunk


# ---------------------------------------------------------------------------- generation


@contextlib.contextmanager
def eval_mode(*modules: torch.nn.Module | None):
    """Put modules in eval mode (batch norm uses running statistics) and restore afterwards."""
    mods = [m for m in modules if m is not None]
    was = [m.training for m in mods]
    try:
        for m in mods:
            m.eval()
        yield
    finally:
        for m, w in zip(mods, was):
            m.train(w)


def _device_of(module: torch.nn.Module) -> torch.device:
    p = next(module.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _is_channels_last(module: torch.nn.Module) -> bool:
    w = next((p for p in module.parameters() if p.dim() == 4), None)
    return w is None or w.is_contiguous(memory_format=torch.channels_last)


def to_uint8(x: Tensor) -> np.ndarray:
    """Images in [-1, 1], (B, C, H, W) -> uint8 numpy (B, H, W, C); x -> round((x + 1) 127.5)."""
    x = x.detach().float().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()  # cheap when x is channels_last


def _class_input(y: int | Tensor | None, n: int, device: torch.device) -> Tensor | None:
    """y as the conditional G takes it: (n,) long indices or (n, K) float weights."""
    if y is None:
        return None
    y = torch.as_tensor(y)
    if y.dim() == 0:
        y = y.expand(n)
    elif y.dim() == 1 and y.is_floating_point():  # one weight vector for every image
        y = y.expand(n, -1)
    return y.to(device)


def generate_batches(
    G: torch.nn.Module,
    z: Tensor,
    y: int | Tensor | None = None,
    batch_size: int = 64,
    precision: str = "auto",
    channels_last: bool = True,
) -> Iterator[np.ndarray]:
    """Images of the latents z (B, nz) as uint8 (b, H, W, C) batches of at most `batch_size`.

    y: None (unconditional), a class index, (B,) indices, (K,) weights for all or (B, K)
    weights. G runs in eval mode under `torch.inference_mode()`, in bf16 autocast where
    `precision` resolves to it ("auto": bf16 where the CPU computes it natively, else
    fp32), with its weights in channels_last (values unchanged; faster convolutions on CPU).
    """
    if batch_size < 1:
        raise LatentError(f"batch_size {batch_size} must be at least 1")
    if getattr(G.cfg, "num_classes", 0) and y is None:
        raise LatentError("this model is class-conditional: choose a class (an index, or class weights)")
    device = _device_of(G)
    dtype = resolve_precision(precision, device)
    if channels_last and not _is_channels_last(G):
        G.to(memory_format=torch.channels_last)  # once: later calls find it converted
    yb = _class_input(y, z.shape[0], device)
    for i in range(0, z.shape[0], batch_size):
        zi = z[i : i + batch_size].to(device, torch.float32)
        yi = None if yb is None else yb[i : i + batch_size]
        # the contexts close before each yield: grad mode, autocast and eval mode are
        # per-thread/per-module state that must not leak into the caller between batches
        with eval_mode(G), torch.inference_mode(), autocast(device, dtype):
            images = to_uint8(G(zi, yi))
        yield images


def generate(
    G: torch.nn.Module,
    z: Tensor,
    y: int | Tensor | None = None,
    batch_size: int = 64,
    precision: str = "auto",
) -> np.ndarray:
    """All images of z (B, nz) as one uint8 array (B, H, W, C); see `generate_batches`."""
    batches = list(generate_batches(G, z, y, batch_size, precision))
    if not batches:
        c, r = G.cfg.channels, G.cfg.res
        return np.zeros((0, r, r, c), np.uint8)
    return np.concatenate(batches)


def sample(
    G: torch.nn.Module,
    seeds: Sequence[int],
    y: int | Tensor | None = None,
    truncation: float = 1.0,
    precision: str = "auto",
) -> np.ndarray:
    """The images named by `seeds` (uint8 (B, H, W, C)), with truncation psi toward 0."""
    z = truncate(seed_latents(seeds, G.cfg.nz), truncation)
    return generate(G, z, y, precision=precision)
