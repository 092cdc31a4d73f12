"""Draw the playground's view and loss curves as RGB numpy images, with numpy + Pillow only.

A frame shows, back to front (as GAN Lab does):
- D's decision surface: a heatmap of how "real" D thinks each point of the plane is
  (green = real, purple = fake, pale = undecided);
- the latent grid mapped through G, a warped mesh: how G folds the latent plane;
- real points (green) and generated points (purple), the mode centres' 3-std circles;
- arrows on generated points: the direction -dL_G/dx in which G's loss pushes each point,
  length compressed on a fixed scale so that vanishing gradients show as short arrows.

Rendering never touches training state: networks run in eval mode under no_grad (except
the arrows' input gradient), and all inputs are the trainer's fixed view tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from gan_core.losses import g_loss

# Colours (RGB): tints for the heatmap, saturated versions for the points.
FAKE_TINT = np.array([188, 150, 226], dtype=np.float32)
MID_TINT = np.array([246, 246, 246], dtype=np.float32)
REAL_TINT = np.array([140, 212, 152], dtype=np.float32)
REAL_DOT = (22, 128, 58)
FAKE_DOT = (126, 46, 170)
MESH = (120, 120, 120)
ARROW = (40, 40, 40)
MODE_RING = (20, 20, 20)
CURVE_COLOURS = {"d_loss": (39, 120, 200), "g_loss": (214, 96, 40), "penalty": (120, 120, 120)}


@dataclass
class ViewOptions:
    """What a frame shows and how big it is."""

    size: int = 400  # frame is size x size pixels
    heat_res: int = 48  # D is evaluated on a heat_res x heat_res grid, then smoothly upscaled
    heatmap: bool = True  # D's decision surface
    mesh: bool = True  # the latent grid mapped through G
    mesh_lines: int = 15  # lines per latent axis
    real: bool = True  # real points
    fake: bool = True  # generated points
    arrows: bool = True  # -dL_G/dx on generated points
    n_arrows: int = 96  # how many generated points get an arrow
    modes: bool = True  # 3-std circles around known mode centres
    label: str = ""  # text in the top-left corner (e.g. "A: minimax")


def _world_to_px(xy: np.ndarray, extent: float, size: int) -> np.ndarray:
    """World (N, 2) in [-extent, extent]^2, y up -> pixel (N, 2), y down."""
    px = (xy[:, 0] + extent) * (size / (2 * extent))
    py = (extent - xy[:, 1]) * (size / (2 * extent))
    return np.stack([px, py], axis=1)


def decision_surface(D: torch.nn.Module, loss: str, extent: float, res: int,
                     ref_real: float = 1.0, ref_fake: float = -1.0) -> np.ndarray:
    """D's belief that a point is real, (res, res) in [0, 1], row 0 at the top (y = +extent).

    ns/minimax: sigmoid(D(x)). lsgan: D(x) clipped to [0, 1] (its targets are 1 and 0).
    hinge: (clip(D(x), -1, 1) + 1) / 2 (its margins are +-1). wgan: the critic has no
    scale or offset of its own, so scores are centred between its mean on real and fake
    points (ref_real, ref_fake) and squashed with tanh.
    """
    ticks = torch.linspace(-extent, extent, res)
    yy, xx = torch.meshgrid(-ticks, ticks, indexing="ij")  # rows go top (y = +extent) to bottom
    grid = torch.stack([xx, yy], dim=-1).reshape(-1, 2)  # (res*res, 2)
    with torch.no_grad():
        s = D(grid).reshape(res, res)
    if loss in ("ns", "minimax"):
        p = torch.sigmoid(s)
    elif loss == "lsgan":
        p = s.clamp(0.0, 1.0)
    elif loss == "hinge":
        p = (s.clamp(-1.0, 1.0) + 1.0) / 2.0
    else:  # wgan
        mid, half = (ref_real + ref_fake) / 2.0, max(abs(ref_real - ref_fake) / 2.0, 1e-3)
        p = (torch.tanh((s - mid) / half) + 1.0) / 2.0
    return p.numpy()


def _heatmap_rgb(p: np.ndarray, size: int) -> Image.Image:
    """p (res, res) in [0, 1] -> RGB image (size, size): purple below 0.5, green above."""
    p = p[..., None].astype(np.float32)
    lo = FAKE_TINT + (MID_TINT - FAKE_TINT) * np.clip(2 * p, 0, 1)
    hi = MID_TINT + (REAL_TINT - MID_TINT) * np.clip(2 * p - 1, 0, 1)
    rgb = np.where(p < 0.5, lo, hi).astype(np.uint8)
    return Image.fromarray(rgb, "RGB").resize((size, size), Image.BILINEAR)


def generator_gradients(D: torch.nn.Module, loss: str, x: np.ndarray) -> np.ndarray:
    """dL_G/dx for each generated point's own loss, (N, 2): what G's update pushes against.

    L_G is a batch mean, so the per-point gradient is N times the batch gradient.
    """
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(g_loss(loss, D(xt)) * len(xt), xt)
    return grad.numpy()


def latent_mesh(G: torch.nn.Module, nz: int, lines: int, span: float = 2.5) -> np.ndarray:
    """G on a (lines, lines) grid over latent dims 0 and 1 in [-span, span], others 0: (lines, lines, 2).

    With nz = 1 the "grid" is one line through the latent axis, repeated.
    """
    t = torch.linspace(-span, span, lines)
    z = torch.zeros(lines, lines, nz)
    z[..., 0] = t[:, None]
    if nz > 1:
        z[..., 1] = t[None, :]
    with torch.no_grad():
        return G(z.reshape(-1, nz)).reshape(lines, lines, 2).numpy()


def _font(size: int = 13) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def render_view(trainer, opts: ViewOptions | None = None) -> np.ndarray:
    """One frame of `trainer` (a ToyTrainer) as uint8 RGB (size, size, 3)."""
    opts = opts or ViewOptions()
    size, extent, loss = opts.size, trainer.dist.extent, trainer.cfg.loss
    G, D = trainer.G, trainer.D
    modes = (G.training, D.training)
    G.eval()  # eval: spectral norm's power iteration must not advance while drawing
    D.eval()
    try:
        fake = trainer.generate(trainer.z_view)  # (P, 2)
        if opts.heatmap:
            with torch.no_grad():
                ref_real = D(torch.from_numpy(trainer.real_view)).mean().item()
                ref_fake = D(torch.from_numpy(fake)).mean().item()
            img = _heatmap_rgb(decision_surface(D, loss, extent, opts.heat_res, ref_real, ref_fake), size)
        else:
            img = Image.new("RGB", (size, size), tuple(int(c) for c in MID_TINT))
        draw = ImageDraw.Draw(img)
        if opts.mesh:
            mesh = latent_mesh(G, trainer.cfg.nz, opts.mesh_lines)  # (L, L, 2)
            for line in list(mesh) + list(mesh.transpose(1, 0, 2)):
                draw.line([tuple(p) for p in _world_to_px(line, extent, size)], fill=MESH, width=1)
        if opts.real or opts.fake:
            rgb = np.array(img)  # points are stamped in numpy, lines drawn by Pillow
            if opts.real:
                _dots(rgb, _world_to_px(trainer.real_view, extent, size), REAL_DOT)
            if opts.fake:
                _dots(rgb, _world_to_px(fake, extent, size), FAKE_DOT)
            img = Image.fromarray(rgb)
            draw = ImageDraw.Draw(img)
        if opts.arrows and opts.n_arrows > 0:
            _arrows(draw, fake[: opts.n_arrows], generator_gradients(D, loss, fake[: opts.n_arrows]), extent, size)
        if opts.modes and trainer.dist.has_modes:
            r = max(3.0 * trainer.dist.std * size / (2 * extent), 3.0)
            for cx, cy in _world_to_px(trainer.dist.centers, extent, size):
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=MODE_RING, width=1)
        if opts.label:
            draw.text((6, 4), opts.label, fill=(0, 0, 0), font=_font())
    finally:
        G.train(modes[0])
        D.train(modes[1])
    return np.asarray(img)


_DISC = np.array([(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3) if dx * dx + dy * dy <= 5])  # (13, 2)


def _dots(rgb: np.ndarray, px: np.ndarray, colour: tuple[int, int, int]) -> None:
    """Stamp a 5-px disc at each pixel position (N, 2) into rgb (H, W, 3), in place.

    Vectorised: about 50x faster than one ImageDraw.ellipse per point.
    """
    h, w, _ = rgb.shape
    centres = np.rint(px[np.isfinite(px).all(1)]).astype(np.int64)  # (N, 2)
    xy = (centres[:, None, :] + _DISC[None]).reshape(-1, 2)  # (N * 13, 2)
    keep = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    rgb[xy[keep, 1], xy[keep, 0]] = colour


def _arrows(draw: ImageDraw.ImageDraw, x: np.ndarray, grad: np.ndarray, extent: float, size: int,
            g0: float = 0.5, max_frac: float = 0.07) -> None:
    """Arrows from x along -grad; length max_frac * view * tanh(sqrt(|grad| / g0)).

    A fixed scale, not normalised per frame, so frames and runs compare: the square root
    keeps gradients from 0.02 to 5 readable, and a vanished gradient (minimax when D wins)
    draws no arrow at all.
    """
    norm = np.linalg.norm(grad, axis=1, keepdims=True)  # (N, 1)
    direction = -grad / np.maximum(norm, 1e-12)
    length = max_frac * 2 * extent * np.tanh(np.sqrt(norm / g0))  # world units
    start = _world_to_px(x, extent, size)
    end = _world_to_px(x + direction * length, extent, size)
    for (x0, y0), (x1, y1) in zip(start, end):
        dx, dy = x1 - x0, y1 - y0
        n = (dx * dx + dy * dy) ** 0.5
        if n < 1.5:  # a vanished gradient: nothing to draw
            continue
        draw.line((x0, y0, x1, y1), fill=ARROW, width=1)
        ux, uy = dx / n, dy / n
        h = min(4.0, 0.5 * n)  # arrowhead: two strokes at +-30 degrees back from the tip
        for sx, sy in ((0.866 * ux - 0.5 * uy, 0.5 * ux + 0.866 * uy), (0.866 * ux + 0.5 * uy, -0.5 * ux + 0.866 * uy)):
            draw.line((x1, y1, x1 - h * sx, y1 - h * sy), fill=ARROW, width=1)


def render_curves(history, width: int = 400, height: int = 160,
                  keys: tuple[str, ...] = ("d_loss", "g_loss")) -> np.ndarray:
    """Loss curves of a trainer's History as uint8 RGB (height, width, 3).

    The y range is the 1st to 99th percentile of all shown values, so one spike does not
    flatten the rest; the step range is written under the plot.
    """
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = _font(11)
    left, right, top, bottom = 8, width - 8, 18, height - 16
    draw.rectangle((left, top, right, bottom), outline=(200, 200, 200))
    steps = history.column("step") if history.rows else np.zeros(0)
    if len(steps) >= 2:
        series = {k: history.column(k) for k in keys}
        allv = np.concatenate([v[np.isfinite(v)] for v in series.values()])
        lo, hi = (np.percentile(allv, [1, 99]) if len(allv) else (0.0, 1.0))
        if hi - lo < 1e-6:
            lo, hi = lo - 0.5, hi + 0.5
        pad = 0.05 * (hi - lo)
        lo, hi = lo - pad, hi + pad
        sx = (right - left) / max(steps[-1] - steps[0], 1.0)
        if lo < 0 < hi:  # the zero line helps read WGAN and hinge losses
            y0 = bottom - (0 - lo) / (hi - lo) * (bottom - top)
            draw.line((left, y0, right, y0), fill=(225, 225, 225))
        for k, v in series.items():
            y = np.clip(v, lo, hi)
            pts = np.stack([left + (steps - steps[0]) * sx, bottom - (y - lo) / (hi - lo) * (bottom - top)], 1)
            draw.line([tuple(p) for p in pts], fill=CURVE_COLOURS.get(k, (0, 0, 0)), width=1)
        draw.text((left, bottom + 2), f"step {int(steps[0])}", fill=(90, 90, 90), font=font)
        end_label = f"{int(steps[-1])}"
        draw.text((right - 8 * len(end_label), bottom + 2), end_label, fill=(90, 90, 90), font=font)
        draw.text((right - 70, 2), f"{hi:.2f}", fill=(90, 90, 90), font=font)
    x = left
    for k in keys:  # legend
        draw.line((x, 9, x + 14, 9), fill=CURVE_COLOURS.get(k, (0, 0, 0)), width=2)
        label = {"d_loss": "D loss", "g_loss": "G loss"}.get(k, k)
        draw.text((x + 18, 3), label, fill=(40, 40, 40), font=font)
        x += 80
    return np.asarray(img)


def pixel_to_world(px: float, py: float, extent: float, size: int) -> tuple[float, float]:
    """Inverse of the view's mapping: pixel (px, py), y down -> world (x, y), y up."""
    scale = 2 * extent / size
    return px * scale - extent, extent - py * scale


def render_canvas(points: np.ndarray, extent: float, size: int = 320) -> np.ndarray:
    """The click canvas: a light grid at integer coordinates and the user's points (N, 2)."""
    img = Image.new("RGB", (size, size), (252, 252, 252))
    draw = ImageDraw.Draw(img)
    for v in range(-int(extent), int(extent) + 1):
        (gx, gy), = _world_to_px(np.array([[v, v]], dtype=np.float64), extent, size)
        colour = (190, 190, 190) if v == 0 else (232, 232, 232)
        draw.line((gx, 0, gx, size), fill=colour)
        draw.line((0, gy, size, gy), fill=colour)
    rgb = np.array(img)
    if len(points):
        _dots(rgb, _world_to_px(np.asarray(points, dtype=np.float64), extent, size), REAL_DOT)
    return rgb
