"""Playground tab: watch a GAN learn a 2D distribution, alone or A/B side by side.

Layout and thin handlers only: the training, metrics and drawing live in gan_core.toy
(ToySession owns the runs, render draws the frames). Each browser session has its own
ToySession in a gr.State; a gr.Timer drives Play, and every tick does a bounded amount of
work (at most MAX_STEPS_PER_FRAME steps per run, at most MAX_TOTAL_STEPS per run in all).
Frames travel as inline data URIs in gr.HTML, so live playback writes no files to disk.
"""

from __future__ import annotations

import base64
import html
import io

import gradio as gr
import numpy as np
from PIL import Image

from gan_core.errors import GanStudioError
from gan_core.toy.config import ToyConfig
from gan_core.toy.distributions import DISTRIBUTIONS, read_points_csv
from gan_core.toy.render import ViewOptions, pixel_to_world, render_canvas
from gan_core.device import torch_threads
from gan_core.toy.session import CANVAS_EXTENT, ToySession

LOSS_CHOICES = ("ns", "minimax", "lsgan", "wgan", "hinge")
PENALTY_CHOICES = ("none", "wgan-gp", "zero-gp", "r1")
BATCH_CHOICES = (32, 64, 128, 256, 512, 1024)
MAX_STEPS_PER_FRAME = 20  # bound on the work of one tick
MAX_TOTAL_STEPS = 20_000  # a run pauses here; Reset starts again (a forgotten tab stops costing CPU)
FRAME_S, SLOW_FRAME_S = 0.2, 1.0  # timer interval: 5 frames/s, or 1 frame/s in slow motion
VIEW_SIZE, CANVAS_SIZE = 400, 320
RUN_FIELDS = ("loss", "penalty", "penalty_weight", "sn", "lr_g", "lr_d", "d_steps")
SHARED_FIELDS = ("dist", "batch", "layers", "width", "nz", "seed", "compare", "speed", "slow")

# A/B presets: (run A overrides, run B overrides) on top of the defaults.
PRESETS: dict[str, tuple[dict, dict]] = {
    "minimax_ns": (dict(loss="minimax", penalty="none"), dict(loss="ns", penalty="none")),
    "wgan_gp": (dict(loss="wgan", penalty="none"), dict(loss="wgan", penalty="wgan-gp", penalty_weight=10.0)),
    # the collapse of tests/test_toy_coverage.py, and its cure
    "strong_d": (dict(penalty="none", lr_g=1e-3, lr_d=3e-3, d_steps=5),
                 dict(penalty="zero-gp", penalty_weight=1.0, lr_g=1e-3, lr_d=3e-3, d_steps=5)),
    "sn": (dict(loss="hinge", penalty="none"), dict(loss="hinge", penalty="none", sn=True)),
}

_EN = {
    "playground.title": "2D playground",
    "playground.intro": (
        "Watch a GAN learn a 2D distribution. **Green** points are real data, **purple** points come "
        "from the generator G. The background is the discriminator D: green where D says *real*, purple "
        "where it says *fake*. Arrows show where G's loss pushes each generated point; the grey mesh is "
        "a grid of latent vectors z mapped through G. Press **Play**, then change the loss or add a "
        "penalty while it runs."
    ),
    "playground.dist": "Target distribution",
    "playground.dist_info": "Ring and grid have known modes: the view counts how many G covers.",
    "playground.dist.ring8": "Ring of 8 Gaussians",
    "playground.dist.grid25": "Grid of 25 Gaussians",
    "playground.dist.moons": "Two moons",
    "playground.dist.spiral": "Spiral",
    "playground.dist.custom": "Your own points",
    "playground.canvas": "Click to add points",
    "playground.canvas_help": (
        "Click the canvas to add a point; each point becomes a small Gaussian (a mode). Or upload a CSV "
        "with two numeric columns x, y (an optional header line is fine); it is centred and scaled to fit."
    ),
    "playground.undo": "Undo last point",
    "playground.clear": "Clear points",
    "playground.csv": "CSV of points (x, y)",
    "playground.run_a": "Run A: loss and regularisers",
    "playground.run_b": "Run B: loss and regularisers",
    "playground.loss": "Loss",
    "playground.loss_info": "What D and G minimise (equations below).",
    "playground.loss.ns": "Non-saturating",
    "playground.loss.minimax": "Minimax (original)",
    "playground.loss.lsgan": "Least squares (LSGAN)",
    "playground.loss.wgan": "Wasserstein (WGAN)",
    "playground.loss.hinge": "Hinge",
    "playground.eq.ns": (
        "**Non-saturating** (Goodfellow et al. 2014): L_D = −log D(x) − log(1 − D(G(z))), "
        "L_G = −log D(G(z)). G gets strong gradients exactly when D rejects its points."
    ),
    "playground.eq.minimax": (
        "**Minimax**: the same L_D, but L_G = log(1 − D(G(z))). When D confidently rejects G's points, "
        "D(G(z)) ≈ 0 and this gradient vanishes: G stalls (watch the arrows shrink)."
    ),
    "playground.eq.lsgan": (
        "**Least squares** (Mao et al. 2017): L_D = ½(D(x) − 1)² + ½ D(G(z))², L_G = ½(D(G(z)) − 1)². "
        "Points far on the wrong side are still pulled, so gradients do not vanish."
    ),
    "playground.eq.wgan": (
        "**Wasserstein** (Arjovsky et al. 2017): L_D = D(G(z)) − D(x), L_G = −D(G(z)). D is a critic "
        "that must stay 1-Lipschitz: add the WGAN-GP penalty or spectral norm, or its scores run away."
    ),
    "playground.eq.hinge": (
        "**Hinge** (Lim & Ye 2017): L_D = max(0, 1 − D(x)) + max(0, 1 + D(G(z))), L_G = −D(G(z)). "
        "D stops pushing once a point is beyond the margin; pairs well with spectral norm."
    ),
    "playground.penalty": "Gradient penalty on D",
    "playground.penalty_info": "Keeps D's surface smooth so G gets useful gradients.",
    "playground.penalty.none": "None",
    "playground.penalty.wgan-gp": "WGAN-GP (1-centred)",
    "playground.penalty.zero-gp": "Zero-centred GP",
    "playground.penalty.r1": "R1 on real points",
    "playground.peq.none": "No penalty: D may become arbitrarily steep.",
    "playground.peq.wgan-gp": (
        "**WGAN-GP** (Gulrajani et al. 2017): λ E[(‖∇D(x̂)‖ − 1)²] at x̂ = αx + (1 − α)G(z), α ~ U(0, 1). "
        "The usual λ is 10."
    ),
    "playground.peq.zero-gp": (
        "**Zero-centred GP** (Thanh-Tung et al. 2019): λ E[‖∇D(x̂)‖²] on the same mixes x̂; "
        "discourages sharp cliffs that trap G in a few modes."
    ),
    "playground.peq.r1": (
        "**R1** (Mescheder et al. 2018): (γ/2) E[‖∇D(x)‖²] on real points only; "
        "D cannot grow steep around the data, so training converges."
    ),
    "playground.penalty_weight": "Penalty weight (λ or γ)",
    "playground.penalty_weight_info": "WGAN-GP usually 10; zero-GP and R1 about 0.1 to 10.",
    "playground.sn": "Spectral normalisation in D",
    "playground.sn_info": "W ← W / σ(W) in every D layer (Miyato et al. 2018): limits how steep D can be.",
    "playground.lr_g": "Learning rate of G",
    "playground.lr_g_info": "Adam step size of the generator.",
    "playground.lr_d": "Learning rate of D",
    "playground.lr_d_info": "A faster D (TTUR) than G can help; a much faster one overpowers G.",
    "playground.d_steps": "D steps per G step",
    "playground.d_steps_info": "n_critic: WGAN uses 5. More steps make D stronger.",
    "playground.compare": "Compare two runs (A/B)",
    "playground.compare_info": "Same data, same seed, same starting weights; only the settings differ. Ticking it restarts both from step 0.",
    "playground.preset": "A/B preset",
    "playground.preset_info": "Fills in both runs with a classic comparison.",
    "playground.preset.minimax_ns": "Minimax vs non-saturating",
    "playground.preset.wgan_gp": "WGAN without vs with gradient penalty",
    "playground.preset.strong_d": "Strong D without vs with zero-centred GP",
    "playground.preset.sn": "Hinge without vs with spectral norm",
    "playground.net": "Data and networks",
    "playground.batch": "Batch size",
    "playground.batch_info": "Real and generated points per step.",
    "playground.layers": "Hidden layers (G and D)",
    "playground.layers_info": "Changing it restarts the runs.",
    "playground.width": "Units per layer",
    "playground.width_info": "Changing it restarts the runs.",
    "playground.nz": "Latent size (nz)",
    "playground.nz_info": "With 2 the mesh shows the whole latent plane; more dims show a slice.",
    "playground.seed": "Seed",
    "playground.seed_info": "Names the starting weights, data and noise.",
    "playground.play": "▶ Play",
    "playground.pause": "⏸ Pause",
    "playground.step": "Step",
    "playground.reset": "Reset",
    "playground.speed": "Steps per frame",
    "playground.speed_info": "Training steps between two pictures (5 pictures a second).",
    "playground.slow": "Slow motion",
    "playground.slow_info": "One step per second, to follow each update.",
    "playground.view_a": "Run A",
    "playground.view_b": "Run B",
    "playground.curves_a": "Losses of run A",
    "playground.curves_b": "Losses of run B",
    "playground.steps": "Step",
    "playground.modes": "Modes covered",
    "playground.hq": "High quality (within 3 std)",
    "playground.legend": (
        "Rings mark the true modes (3 standard deviations). **Modes covered**: modes with at least 20 "
        "of 2,500 generated points within 3 std; **high quality**: the share of all generated points that "
        "close to a mode (the metrics of Unrolled GAN, VEEGAN and PacGAN)."
    ),
    "playground.explain_body": (
        "**The game.** D learns to tell real points from generated ones: it maximises "
        "log D(x) + log(1 − D(G(z))). G learns to fool D. Each step does *D steps* updates of D, then one of G.\n\n"
        "**Mode collapse.** G can fool D by putting all its points on one or two modes; D then pushes "
        "them away, and G jumps to another mode. Look for purple points gathered in a few rings while "
        "others stay empty, and a modes-covered count that stays low.\n\n"
        "**Cures to try.** The non-saturating loss instead of minimax; a gradient penalty (zero-centred or "
        "R1) or spectral norm to keep D smooth; fewer D steps or a lower D learning rate when D wins; a "
        "larger batch. Use *Compare* to run the cure beside the problem on the same data and seed."
    ),
}

_ZH = {
    "playground.title": "二维演练场",
    "playground.intro": (
        "观察 GAN 如何学习一个二维分布。**绿色**点是真实数据，**紫色**点来自生成器 G。背景是判别器 D："
        "绿色处 D 判为*真*，紫色处判为*假*。箭头表示 G 的损失把每个生成点推向哪里；灰色网格是一组潜向量 z "
        "经过 G 之后的形状。按 **播放**，然后在训练中切换损失或加上惩罚项。"
    ),
    "playground.dist": "目标分布",
    "playground.dist_info": "环形和网格有已知的模式：视图会统计 G 覆盖了多少个。",
    "playground.dist.ring8": "8 个高斯组成的环",
    "playground.dist.grid25": "25 个高斯组成的网格",
    "playground.dist.moons": "双月形",
    "playground.dist.spiral": "螺旋",
    "playground.dist.custom": "你自己的点",
    "playground.canvas": "点击添加点",
    "playground.canvas_help": (
        "点击画布添加一个点；每个点都是一个小高斯分布（一个模式）。也可以上传含两列数值 x, y 的 CSV"
        "（可以有一行表头），数据会被居中并缩放到画布内。"
    ),
    "playground.undo": "撤销上一个点",
    "playground.clear": "清除所有点",
    "playground.csv": "点的 CSV 文件 (x, y)",
    "playground.run_a": "运行 A：损失与正则化",
    "playground.run_b": "运行 B：损失与正则化",
    "playground.loss": "损失函数",
    "playground.loss_info": "D 和 G 最小化的目标（公式见下）。",
    "playground.loss.ns": "非饱和",
    "playground.loss.minimax": "极小极大（原始）",
    "playground.loss.lsgan": "最小二乘 (LSGAN)",
    "playground.loss.wgan": "Wasserstein (WGAN)",
    "playground.loss.hinge": "铰链 (Hinge)",
    "playground.eq.ns": (
        "**非饱和损失**（Goodfellow 等 2014）：L_D = −log D(x) − log(1 − D(G(z)))，"
        "L_G = −log D(G(z))。恰好在 D 否定 G 的点时，G 得到很强的梯度。"
    ),
    "playground.eq.minimax": (
        "**极小极大损失**：L_D 相同，但 L_G = log(1 − D(G(z)))。当 D 很有把握地否定 G 的点时，"
        "D(G(z)) ≈ 0，梯度消失，G 停滞不前（可以看到箭头变短）。"
    ),
    "playground.eq.lsgan": (
        "**最小二乘损失**（Mao 等 2017）：L_D = ½(D(x) − 1)² + ½ D(G(z))²，L_G = ½(D(G(z)) − 1)²。"
        "远在错误一侧的点仍会被拉回，梯度不会消失。"
    ),
    "playground.eq.wgan": (
        "**Wasserstein 损失**（Arjovsky 等 2017）：L_D = D(G(z)) − D(x)，L_G = −D(G(z))。D 是评论家，"
        "必须保持 1-Lipschitz：请加上 WGAN-GP 惩罚或谱归一化，否则分数会发散。"
    ),
    "playground.eq.hinge": (
        "**铰链损失**（Lim 与 Ye 2017）：L_D = max(0, 1 − D(x)) + max(0, 1 + D(G(z)))，L_G = −D(G(z))。"
        "点越过边界后 D 就不再推它；常与谱归一化搭配。"
    ),
    "playground.penalty": "D 的梯度惩罚",
    "playground.penalty_info": "让 D 的曲面保持平滑，使 G 得到有用的梯度。",
    "playground.penalty.none": "无",
    "playground.penalty.wgan-gp": "WGAN-GP（以 1 为中心）",
    "playground.penalty.zero-gp": "零中心梯度惩罚",
    "playground.penalty.r1": "真实点上的 R1",
    "playground.peq.none": "无惩罚：D 可以变得任意陡峭。",
    "playground.peq.wgan-gp": (
        "**WGAN-GP**（Gulrajani 等 2017）：λ E[(‖∇D(x̂)‖ − 1)²]，其中 x̂ = αx + (1 − α)G(z)，α ~ U(0, 1)。"
        "常用 λ = 10。"
    ),
    "playground.peq.zero-gp": (
        "**零中心梯度惩罚**（Thanh-Tung 等 2019）：在同样的混合点 x̂ 上取 λ E[‖∇D(x̂)‖²]；"
        "防止出现把 G 困在少数模式里的陡崖。"
    ),
    "playground.peq.r1": (
        "**R1**（Mescheder 等 2018）：只在真实点上取 (γ/2) E[‖∇D(x)‖²]；"
        "D 在数据附近无法变得陡峭，训练因此收敛。"
    ),
    "playground.penalty_weight": "惩罚权重（λ 或 γ）",
    "playground.penalty_weight_info": "WGAN-GP 通常取 10；零中心 GP 和 R1 约 0.1 到 10。",
    "playground.sn": "D 使用谱归一化",
    "playground.sn_info": "D 的每一层 W ← W / σ(W)（Miyato 等 2018）：限制 D 的陡峭程度。",
    "playground.lr_g": "G 的学习率",
    "playground.lr_g_info": "生成器 Adam 的步长。",
    "playground.lr_d": "D 的学习率",
    "playground.lr_d_info": "D 比 G 稍快（TTUR）可能有帮助；快得太多会压垮 G。",
    "playground.d_steps": "每步 G 对应的 D 步数",
    "playground.d_steps_info": "n_critic：WGAN 用 5。步数越多 D 越强。",
    "playground.compare": "对比两个运行 (A/B)",
    "playground.compare_info": "相同的数据、相同的种子、相同的初始权重；只有设置不同。勾选后两个运行都从第 0 步重新开始。",
    "playground.preset": "A/B 预设",
    "playground.preset_info": "用一个经典对比填好两个运行的设置。",
    "playground.preset.minimax_ns": "极小极大 对比 非饱和",
    "playground.preset.wgan_gp": "WGAN 不加 对比 加梯度惩罚",
    "playground.preset.strong_d": "强判别器 不加 对比 加零中心 GP",
    "playground.preset.sn": "铰链损失 不加 对比 加谱归一化",
    "playground.net": "数据与网络",
    "playground.batch": "批大小",
    "playground.batch_info": "每步使用的真实点和生成点数量。",
    "playground.layers": "隐藏层数（G 和 D）",
    "playground.layers_info": "修改后运行会重新开始。",
    "playground.width": "每层单元数",
    "playground.width_info": "修改后运行会重新开始。",
    "playground.nz": "潜空间维度 (nz)",
    "playground.nz_info": "取 2 时网格显示整个潜平面；维度更多时显示其中一个切面。",
    "playground.seed": "随机种子",
    "playground.seed_info": "决定初始权重、数据和噪声。",
    "playground.play": "▶ 播放",
    "playground.pause": "⏸ 暂停",
    "playground.step": "单步",
    "playground.reset": "重置",
    "playground.speed": "每帧步数",
    "playground.speed_info": "两幅画面之间的训练步数（每秒 5 幅）。",
    "playground.slow": "慢动作",
    "playground.slow_info": "每秒一步，便于看清每次更新。",
    "playground.view_a": "运行 A",
    "playground.view_b": "运行 B",
    "playground.curves_a": "运行 A 的损失",
    "playground.curves_b": "运行 B 的损失",
    "playground.steps": "步数",
    "playground.modes": "覆盖的模式数",
    "playground.hq": "高质量（3 倍标准差以内）",
    "playground.legend": (
        "圆圈标出真实模式（3 倍标准差）。**覆盖的模式数**：2,500 个生成点中至少有 20 个落在 3 倍标准差以内的模式数；"
        "**高质量**：所有生成点中离某个模式这么近的比例（Unrolled GAN、VEEGAN 和 PacGAN 使用的指标）。"
    ),
    "playground.explain_body": (
        "**博弈。** D 学习区分真实点和生成点：最大化 log D(x) + log(1 − D(G(z)))。G 学习骗过 D。"
        "每一步先更新 D 若干次（*D 步数*），再更新 G 一次。\n\n"
        "**模式崩溃。** G 可以把所有点都放在一两个模式上来骗过 D；D 随后把它们推开，G 又跳到另一个模式。"
        "注意紫色点只聚集在少数圆圈里、其他圆圈空着，以及覆盖的模式数一直很低。\n\n"
        "**可以尝试的对策。** 用非饱和损失代替极小极大损失；用梯度惩罚（零中心或 R1）或谱归一化让 D 保持平滑；"
        "D 占上风时减少 D 步数或降低 D 的学习率；增大批大小。用 *对比* 在相同数据和种子上把对策与问题并排运行。"
    ),
}

STRINGS = {"en": _EN, "zh-CN": _ZH}


def _img_html(rgb: np.ndarray, alt: str, fmt: str = "JPEG") -> str:
    """An <img> with the frame inline as a data URI: nothing is written to the server's disk."""
    buf = io.BytesIO()
    if fmt == "JPEG":
        Image.fromarray(rgb).save(buf, "JPEG", quality=88)
    else:
        Image.fromarray(rgb).save(buf, "PNG", compress_level=1)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<img src="data:image/{fmt.lower()};base64,{data}" alt="{alt}" '
            f'style="width:100%;max-width:{rgb.shape[1]}px;height:auto;display:block">')


def _values(args: tuple) -> dict:
    """Positional handler inputs (state excluded) -> {"shared": {...}, "A": {...}, "B": {...}}."""
    n_shared, n_run = len(SHARED_FIELDS), len(RUN_FIELDS)
    shared = dict(zip(SHARED_FIELDS, args[:n_shared]))
    a = dict(zip(RUN_FIELDS, args[n_shared:n_shared + n_run]))
    b = dict(zip(RUN_FIELDS, args[n_shared + n_run:n_shared + 2 * n_run]))
    return {"shared": shared, "A": a, "B": b}


def _configs(v: dict) -> dict[str, ToyConfig]:
    """Checked configs of the visible runs; bad values become a readable gr.Error."""
    s = v["shared"]
    base = {"dist": s["dist"], "batch": int(s["batch"]), "layers": int(s["layers"]), "width": int(s["width"]),
            "nz": int(s["nz"]), "seed": int(s["seed"]), "steps": MAX_TOTAL_STEPS}
    if s["dist"] not in DISTRIBUTIONS:
        raise gr.Error(f"unknown distribution {s['dist']!r}")
    if base["batch"] > max(BATCH_CHOICES) or base["layers"] > 6 or base["width"] > 256:
        raise gr.Error("batch at most 1024, at most 6 layers of at most 256 units")
    names = ("A", "B") if s["compare"] else ("A",)
    out = {}
    for name in names:
        r = dict(v[name])
        r.update(sn=bool(r["sn"]), d_steps=int(r["d_steps"]), lr_g=float(r["lr_g"]), lr_d=float(r["lr_d"]),
                 penalty_weight=float(r["penalty_weight"]))
        if r["d_steps"] > 10:
            raise gr.Error("D steps per G step: at most 10 here")
        try:
            out[name] = ToyConfig.from_dict({**base, **r})
        except GanStudioError as e:
            raise gr.Error(f"run {name}: {e}") from None
    return out


def _frames(sess: ToySession, v: dict, steps: int) -> tuple[list, bool]:
    """Sync the runs with the form, take `steps` steps, and return the outputs to show."""
    cfgs = _configs(v)
    if cfgs["A"].dist == "custom" and len(sess.points) == 0:
        gr.Warning("Add points first: click the canvas or upload a CSV.")
        return [gr.update()] * 10, True  # nothing to train on: show what was there, stop playing
    with sess.lock, torch_threads(1):
        try:
            sess.sync(cfgs)
            capped = sess.advance(steps, MAX_TOTAL_STEPS) if steps else False
            outs: list = []
            for name in ("A", "B"):
                if name not in sess.runs:
                    outs += [gr.update(), gr.update(), gr.update(), gr.update(), gr.update()]
                    continue
                cfg = cfgs[name]
                label = f"{name}: {cfg.loss}" + ("" if cfg.penalty == "none" else f" + {cfg.penalty}") + (
                    " + SN" if cfg.sn else "")
                snap = sess.snapshot(name, ViewOptions(size=VIEW_SIZE, label=label))
                cov = snap["coverage"]
                outs += [
                    _img_html(snap["view"], f"run {name} at step {snap['step']}"),
                    _img_html(snap["curves"], f"losses of run {name}", "PNG"),
                    str(snap["step"]),
                    "—" if cov is None else f"{cov['modes_covered']} / {cov['num_modes']}",
                    "—" if cov is None else f"{cov['high_quality_pct']:.1f} %",
                ]
        except GanStudioError as e:
            raise gr.Error(str(e)) from None
    return outs, capped


def tick(sess, *args):
    """Timer tick while playing: a bounded batch of steps, then new frames."""
    sess = sess or ToySession()
    v = _values(args)
    steps = 1 if v["shared"]["slow"] else int(np.clip(v["shared"]["speed"], 1, MAX_STEPS_PER_FRAME))
    outs, capped = _frames(sess, v, steps)
    return [sess, *outs, gr.update(active=False) if capped else gr.update()]


def step_once(sess, *args):
    sess = sess or ToySession()
    outs, stop = _frames(sess, _values(args), 1)
    return [sess, *outs, gr.update(active=False) if stop else gr.update()]


def refresh(sess, *args):
    """Redraw after a setting changed (runs are rebuilt only if the change needs it)."""
    sess = sess or ToySession()
    outs, stop = _frames(sess, _values(args), 0)
    return [sess, *outs, gr.update(active=False) if stop else gr.update()]


def reset(sess, *args):
    sess = sess or ToySession()
    with sess.lock:
        sess.reset()
    outs, _ = _frames(sess, _values(args), 0)
    return [sess, *outs, gr.update(active=False)]


def compare_toggled(sess, *args):
    """Ticking Compare restarts A beside a fresh B, so both start from the same weights at step 0;
    unticking keeps A going."""
    return (reset if _values(args)["shared"]["compare"] else refresh)(sess, *args)


def build(ctx) -> None:
    """The Playground tab's components and events (call inside a gr.Tab)."""
    t = ctx.t
    d = ToyConfig()
    state = gr.State(None)
    timer = gr.Timer(FRAME_S, active=False)
    gr.Markdown(t("playground.intro"))
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            dist = gr.Radio([(t(f"playground.dist.{k}"), k) for k in DISTRIBUTIONS], value=d.dist,
                            label=t("playground.dist"), info=t("playground.dist_info"), elem_id="pg-dist")
            with gr.Group(visible=False) as custom_box:
                canvas = gr.Image(render_canvas(np.zeros((0, 2)), CANVAS_EXTENT, CANVAS_SIZE), type="numpy",
                                  interactive=False, label=t("playground.canvas"), elem_id="pg-canvas",
                                  buttons=[], format="png")
                gr.Markdown(t("playground.canvas_help"))
                with gr.Row():
                    undo = gr.Button(t("playground.undo"), size="sm")
                    clear = gr.Button(t("playground.clear"), size="sm")
                csv = gr.File(label=t("playground.csv"), file_types=[".csv", ".txt"], type="filepath",
                              elem_id="pg-csv")
            with gr.Row():
                play = gr.Button(t("playground.play"), variant="primary", elem_id="pg-play")
                pause = gr.Button(t("playground.pause"), elem_id="pg-pause")
                step = gr.Button(t("playground.step"), elem_id="pg-step")
                reset_btn = gr.Button(t("playground.reset"), elem_id="pg-reset")
            with gr.Row():
                speed = gr.Slider(1, MAX_STEPS_PER_FRAME, value=5, step=1, label=t("playground.speed"),
                                  info=t("playground.speed_info"), elem_id="pg-speed")
                slow = gr.Checkbox(False, label=t("playground.slow"), info=t("playground.slow_info"))
            with gr.Accordion(t("playground.run_a"), open=True):
                run_a, eq_a = _run_controls(t, "a", d)
            compare = gr.Checkbox(False, label=t("playground.compare"), info=t("playground.compare_info"),
                                  elem_id="pg-compare")
            with gr.Accordion(t("playground.run_b"), open=True, visible=False) as box_b:
                preset = gr.Dropdown([(t(f"playground.preset.{k}"), k) for k in PRESETS], value=None,
                                     label=t("playground.preset"), info=t("playground.preset_info"),
                                     elem_id="pg-preset")
                run_b, eq_b = _run_controls(t, "b", d)
            with gr.Accordion(t("playground.net"), open=False):
                batch = gr.Dropdown(list(BATCH_CHOICES), value=d.batch, label=t("playground.batch"),
                                    info=t("playground.batch_info"))
                layers = gr.Slider(1, 6, value=d.layers, step=1, label=t("playground.layers"),
                                   info=t("playground.layers_info"))
                width = gr.Slider(8, 256, value=d.width, step=8, label=t("playground.width"),
                                  info=t("playground.width_info"))
                nz = gr.Slider(1, 16, value=d.nz, step=1, label=t("playground.nz"), info=t("playground.nz_info"))
                seed = gr.Number(d.seed, precision=0, minimum=0, label=t("playground.seed"),
                                 info=t("playground.seed_info"))
        with gr.Column(scale=2):
            with gr.Row():
                with gr.Column():
                    view_a = gr.HTML(_initial_view(d), label=t("playground.view_a"), elem_id="pg-view-a")
                    curves_a = gr.HTML("", elem_id="pg-curves-a")
                    with gr.Row():
                        step_a = gr.Textbox("0", label=t("playground.steps"), interactive=False, elem_id="pg-step-a", min_width=90)
                        modes_a = gr.Textbox("", label=t("playground.modes"), interactive=False, elem_id="pg-modes-a", min_width=90)
                        hq_a = gr.Textbox("", label=t("playground.hq"), interactive=False, elem_id="pg-hq-a", min_width=90)
                with gr.Column(visible=False) as col_b:
                    view_b = gr.HTML("", elem_id="pg-view-b")
                    curves_b = gr.HTML("", elem_id="pg-curves-b")
                    with gr.Row():
                        step_b = gr.Textbox("0", label=t("playground.steps"), interactive=False, elem_id="pg-step-b", min_width=90)
                        modes_b = gr.Textbox("", label=t("playground.modes"), interactive=False, elem_id="pg-modes-b", min_width=90)
                        hq_b = gr.Textbox("", label=t("playground.hq"), interactive=False, elem_id="pg-hq-b", min_width=90)
            gr.Markdown(t("playground.legend"))
            with gr.Accordion(t("common.explain"), open=False):
                gr.Markdown(t("playground.explain_body"))

    shared = [dist, batch, layers, width, nz, seed, compare, speed, slow]
    controls = shared + [run_a[f] for f in RUN_FIELDS] + [run_b[f] for f in RUN_FIELDS]
    inputs = [state, *controls]
    outputs = [state, view_a, curves_a, step_a, modes_a, hq_a, view_b, curves_b, step_b, modes_b, hq_b, timer]
    # One pool for every playground event across users: bounded CPU, and a tick is skipped
    # (trigger_mode "once") while the previous one still runs.
    ev = dict(concurrency_id="playground", concurrency_limit=2, show_progress="hidden")

    timer.tick(tick, inputs, outputs, **ev)
    play.click(lambda: gr.update(active=True), None, timer, queue=False)
    pause.click(lambda: gr.update(active=False), None, timer, queue=False)
    step.click(step_once, inputs, outputs, **ev)
    reset_btn.click(reset, inputs, outputs, **ev)
    slow.change(lambda s: gr.update(value=SLOW_FRAME_S if s else FRAME_S), slow, timer, queue=False)
    for c in [batch, layers, width, nz, seed, *run_a.values(), *run_b.values()]:
        # always_last: while one redraw runs, the newest value still gets drawn afterwards
        c.input(refresh, inputs, outputs, trigger_mode="always_last", **ev)
    run_a["loss"].change(lambda k: t(f"playground.eq.{k}"), run_a["loss"], eq_a["loss"], queue=False)
    run_b["loss"].change(lambda k: t(f"playground.eq.{k}"), run_b["loss"], eq_b["loss"], queue=False)
    run_a["penalty"].change(lambda k: t(f"playground.peq.{k}"), run_a["penalty"], eq_a["penalty"], queue=False)
    run_b["penalty"].change(lambda k: t(f"playground.peq.{k}"), run_b["penalty"], eq_b["penalty"], queue=False)

    dist.input(lambda k: gr.update(visible=k == "custom"), dist, custom_box, queue=False).then(
        refresh, inputs, outputs, **ev)
    compare.input(lambda on: (gr.update(visible=on), gr.update(visible=on)), compare, [box_b, col_b],
                  queue=False).then(compare_toggled, inputs, outputs, **ev)
    preset.input(_apply_preset, preset, [run_a[f] for f in RUN_FIELDS] + [run_b[f] for f in RUN_FIELDS],
                 queue=False).then(reset, inputs, outputs, **ev)

    canvas.select(_add_point, [state], [state, canvas], **ev).then(refresh, inputs, outputs, **ev)
    undo.click(_edit_points("undo"), [state], [state, canvas], **ev).then(refresh, inputs, outputs, **ev)
    clear.click(_edit_points("clear"), [state], [state, canvas], **ev)
    csv.upload(_load_csv, [state, csv], [state, canvas], **ev).then(refresh, inputs, outputs, **ev)


def _run_controls(t, suffix: str, d: ToyConfig) -> tuple[dict, dict]:
    """One run's loss, penalty and optimiser controls, each with its explanation."""
    c: dict = {}
    eq: dict = {}
    c["loss"] = gr.Dropdown([(t(f"playground.loss.{k}"), k) for k in LOSS_CHOICES], value=d.loss,
                            label=t("playground.loss"), info=t("playground.loss_info"), elem_id=f"pg-loss-{suffix}")
    eq["loss"] = gr.Markdown(t(f"playground.eq.{d.loss}"), elem_id=f"pg-eq-{suffix}")
    c["penalty"] = gr.Radio([(t(f"playground.penalty.{k}"), k) for k in PENALTY_CHOICES], value=d.penalty,
                            label=t("playground.penalty"), info=t("playground.penalty_info"),
                            elem_id=f"pg-penalty-{suffix}")
    eq["penalty"] = gr.Markdown(t(f"playground.peq.{d.penalty}"))
    c["penalty_weight"] = gr.Slider(0.0, 20.0, value=d.penalty_weight, step=0.1, label=t("playground.penalty_weight"),
                                    info=t("playground.penalty_weight_info"))
    c["sn"] = gr.Checkbox(d.sn, label=t("playground.sn"), info=t("playground.sn_info"))
    c["lr_g"] = gr.Slider(1e-4, 1e-2, value=d.lr_g, step=1e-4, label=t("playground.lr_g"), info=t("playground.lr_g_info"))
    c["lr_d"] = gr.Slider(1e-4, 1e-2, value=d.lr_d, step=1e-4, label=t("playground.lr_d"), info=t("playground.lr_d_info"))
    c["d_steps"] = gr.Slider(1, 10, value=d.d_steps, step=1, label=t("playground.d_steps"),
                             info=t("playground.d_steps_info"))
    return c, eq


def _apply_preset(name):
    """Both runs' controls for a preset: defaults plus the preset's overrides."""
    if name not in PRESETS:
        return [gr.update()] * (2 * len(RUN_FIELDS))
    d = ToyConfig().to_dict()
    a, b = ({**d, **o} for o in PRESETS[name])
    return [a[f] for f in RUN_FIELDS] + [b[f] for f in RUN_FIELDS]


def _initial_view(d: ToyConfig) -> str:
    """Step 0 of the default run, so the tab shows something before the first click."""
    sess = ToySession()
    with torch_threads(1):
        sess.sync({"A": d.replace(steps=MAX_TOTAL_STEPS)})
        snap = sess.snapshot("A", ViewOptions(size=VIEW_SIZE, label=f"A: {d.loss}"))
    return _img_html(snap["view"], "run A at step 0")


def _canvas(sess: ToySession) -> np.ndarray:
    return render_canvas(sess.points, CANVAS_EXTENT, CANVAS_SIZE)


def _add_point(sess, evt: gr.SelectData):
    sess = sess or ToySession()
    px, py = evt.index[0], evt.index[1]
    x, y = pixel_to_world(float(px), float(py), CANVAS_EXTENT, CANVAS_SIZE)
    with sess.lock:
        try:
            sess.add_point(x, y)
        except GanStudioError as e:
            raise gr.Error(str(e)) from None
    return sess, _canvas(sess)


def _edit_points(action: str):
    def edit(sess):
        sess = sess or ToySession()
        with sess.lock:
            sess.undo_point() if action == "undo" else sess.clear_points()
        return sess, _canvas(sess)

    return edit


def _load_csv(sess, path):
    sess = sess or ToySession()
    if not path:
        return sess, _canvas(sess)
    try:
        points = read_points_csv(path)
        with sess.lock:
            sess.set_points(points)
    except GanStudioError as e:  # the message holds the uploaded file's name: escape it
        raise gr.Error(html.escape(str(e))) from None
    return sess, _canvas(sess)
