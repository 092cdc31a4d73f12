"""Interpolate tab: walk from latent to latent, lerp beside slerp, optionally from a projected photo.

The seeds box is created by the Sample tab (picking an image there appends its seed) and
rendered here. A projected photo is kept per session (gr.State) with the model it was
projected for, and can open the walk as its first keyframe.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import torch

from gan_core import checkpoint, latent, projection
from gan_core.data.decode import SkipImage, decode_image
from gan_core.video import contact_sheet
from ui.common import escape, guarded, require_client
from ui.tab_sample import check_int, class_of, load_model, model_picker, save_png, scratch_file, upscale

MAX_KEYFRAMES = 16
MAX_STEPS = 16
MAX_PHOTO_BYTES = 20 * 2**20
PROJECT_STEPS = 150
PROJECT_SECONDS = 20.0  # a projection is bounded in time: others wait behind it
STRIP_FRAME_PX = 64  # frames are shown at least this large

STRINGS = {
    "en": {
        "interpolate.intro": "Pick two or more seeds (or start from a photo) and see the images in between. The left strip walks a straight line (lerp), the right one walks along the sphere (slerp).",
        "interpolate.seeds": "Keyframe seeds, e.g. 1, 7, 42 (click images in Sample to add them)",
        "interpolate.class_to": "Blend to class (conditional models)",
        "interpolate.steps": "Steps between keyframes",
        "interpolate.easing": "Easing",
        "interpolate.run": "Interpolate",
        "interpolate.lerp": "lerp: straight line",
        "interpolate.slerp": "slerp: along the sphere",
        "interpolate.photo_box": "Start from a photo (projection)",
        "interpolate.photo": "Photo (PNG, JPEG, WEBP, GIF or BMP)",
        "interpolate.project": "Project the photo into the latent space",
        "interpolate.recon": "Photo → closest image the model can make",
        "interpolate.use_photo": "Use the projected photo as the first keyframe",
        "interpolate.status": "{rows} segment(s) × {frames} frames. Smallest |z| on the path: lerp {lerp:.2f}, slerp {slerp:.2f} (typical |z| ≈ √{nz} = {typical:.2f}).",
        "interpolate.projected": "{name}: matched in {steps} steps ({seconds:.1f} s), pixel error {loss:.3f}{cls}.",
        "interpolate.projected_class": ", closest class {name}",
        "interpolate.field.steps": "Steps between keyframes",
        "interpolate.field.blend": "Blend to class",
        "interpolate.error.one_seed": "Give at least two seeds (e.g. 1, 7), or one seed and another class to blend to, or a photo and a seed.",
        "interpolate.error.too_many": "At most {n} keyframes; remove some seeds.",
        "interpolate.error.no_photo": "Upload a photo first.",
        "interpolate.error.photo_big": "{name}: {mb:.1f} MB is larger than the {limit} MB limit for a photo.",
        "interpolate.error.photo_bad": "{name}: {reason}",
        "interpolate.error.no_projection": "No projected photo yet: upload one and press “Project the photo into the latent space” (or untick “Use the projected photo as the first keyframe”).",
        "interpolate.error.other_model": "The photo was projected for another model; press “Project the photo into the latent space” again for this one.",
        "interpolate.explain_md": r"""
**A walk between two latents.** Every seed names a point z in the latent space. Between keyframes a and b we take points for t from 0 to 1 and draw each one.

**lerp** (linear) goes on the straight line:

$$\mathrm{lerp}(a, b, t) = (1 - t)\,a + t\,b$$

**slerp** (spherical) turns along the great circle between the two directions and keeps the length:

$$\mathrm{slerp}(a, b, t) = \frac{\sin((1-t)\,\Omega)}{\sin \Omega}\,a + \frac{\sin(t\,\Omega)}{\sin \Omega}\,b, \qquad \cos \Omega = \frac{a \cdot b}{|a|\,|b|}$$

Why two? In many dimensions almost all of N(0, I) lies on a thin shell of radius ≈ √nz. The straight line cuts through the inside of the shell, where the generator saw few latents during training, so the middle images of a lerp are often washed out and "average"; slerp stays on the shell. The status line shows the smallest length |z| each path reaches.

**Easing** changes the speed, not the path: t is replaced by e(t). *linear* is e(t) = t; *smoothstep* e(t) = 3t² − 2t³ and *cosine* e(t) = (1 − cos πt)/2 slow down near each keyframe, so a walk rests on it.

**Class blend** (conditional models): the class goes from one-hot(A) to one-hot(B), y = (1 − t)·onehot(A) + t·onehot(B), and the generator draws the "mixture" of the two classes.

**Projection** finds a latent for your photo: starting from many random z, it adjusts z by gradient descent so that G(z) looks like the photo (a pixel loss from coarse to fine). The model can only draw what it learned, so the result is the closest image it can make, not a copy.
""",
    },
    "zh-CN": {
        "interpolate.intro": "选两个或更多种子（或从一张照片开始），看看它们之间的图片。左边的条带走直线（lerp），右边的沿球面走（slerp）。",
        "interpolate.seeds": "关键帧种子，例如 1, 7, 42（在“采样”页点击图片即可加入）",
        "interpolate.class_to": "混合到类别（条件模型）",
        "interpolate.steps": "关键帧之间的步数",
        "interpolate.easing": "缓动",
        "interpolate.run": "插值",
        "interpolate.lerp": "lerp：直线",
        "interpolate.slerp": "slerp：沿球面",
        "interpolate.photo_box": "从照片开始（投影）",
        "interpolate.photo": "照片（PNG、JPEG、WEBP、GIF 或 BMP）",
        "interpolate.project": "把照片投影到潜空间",
        "interpolate.recon": "照片 → 模型能画出的最接近的图片",
        "interpolate.use_photo": "把投影得到的照片作为第一个关键帧",
        "interpolate.status": "{rows} 段 × {frames} 帧。路径上最小的 |z|：lerp {lerp:.2f}，slerp {slerp:.2f}（典型的 |z| ≈ √{nz} = {typical:.2f}）。",
        "interpolate.projected": "{name}：用 {steps} 步（{seconds:.1f} 秒）完成匹配，像素误差 {loss:.3f}{cls}。",
        "interpolate.projected_class": "，最接近的类别 {name}",
        "interpolate.field.steps": "关键帧之间的步数",
        "interpolate.field.blend": "混合到类别",
        "interpolate.error.one_seed": "请至少给两个种子（例如 1, 7），或一个种子加另一个要混合的类别，或一张照片加一个种子。",
        "interpolate.error.too_many": "最多 {n} 个关键帧，请删掉一些种子。",
        "interpolate.error.no_photo": "请先上传一张照片。",
        "interpolate.error.photo_big": "{name}：{mb:.1f} MB 超过了照片的 {limit} MB 上限。",
        "interpolate.error.photo_bad": "{name}：{reason}",
        "interpolate.error.no_projection": "还没有投影的照片：请上传照片并点击“把照片投影到潜空间”（或取消勾选“把投影得到的照片作为第一个关键帧”）。",
        "interpolate.error.other_model": "这张照片是为另一个模型投影的；请为当前模型重新点击“把照片投影到潜空间”。",
        "interpolate.explain_md": r"""
**在两个潜向量之间行走。** 每个种子确定潜空间中的一个点 z。在关键帧 a 和 b 之间，我们让 t 从 0 走到 1，并画出每个点对应的图片。

**lerp**（线性插值）走直线：

$$\mathrm{lerp}(a, b, t) = (1 - t)\,a + t\,b$$

**slerp**（球面插值）沿两个方向之间的大圆转动，并保持长度：

$$\mathrm{slerp}(a, b, t) = \frac{\sin((1-t)\,\Omega)}{\sin \Omega}\,a + \frac{\sin(t\,\Omega)}{\sin \Omega}\,b, \qquad \cos \Omega = \frac{a \cdot b}{|a|\,|b|}$$

为什么要两种？在高维空间中，N(0, I) 几乎全部集中在半径约为 √nz 的薄球壳上。直线会穿过球壳内部，而生成器在训练时很少见到那里的潜向量，所以 lerp 中间的图片常常发灰、趋于“平均”；slerp 则始终留在球壳上。状态行显示每条路径上 |z| 的最小值。

**缓动**改变的是速度而不是路径：用 e(t) 代替 t。*linear* 为 e(t) = t；*smoothstep* 为 e(t) = 3t² − 2t³，*cosine* 为 e(t) = (1 − cos πt)/2，它们在关键帧附近减速，让画面在关键帧上停留。

**类别混合**（条件模型）：类别从 onehot(A) 变到 onehot(B)，y = (1 − t)·onehot(A) + t·onehot(B)，生成器画出两个类别的“混合”。

**投影**为你的照片寻找一个潜向量：从许多随机的 z 出发，用梯度下降调整 z，使 G(z) 看起来像这张照片（由粗到细的像素损失）。模型只能画出它学过的东西，所以结果是它能画出的最接近的图片，而不是复制品。
""",
    },
}


def _check_seed_count(ctx, request, n: int) -> None:
    if n > MAX_KEYFRAMES:
        raise gr.Error(ctx.tr(request, "interpolate.error.too_many", n=MAX_KEYFRAMES), print_exception=False)


def make_interpolate(ctx):
    def interpolate(client_id, model_key, class_a, class_b, seeds_text, steps, ease, use_photo, photo, request: gr.Request):
        """Two strips of frames (lerp, slerp): one row per pair of consecutive keyframes."""
        client_id = require_client(ctx, client_id, request)
        steps = check_int(ctx, request, steps, 1, MAX_STEPS, "interpolate.field.steps")
        ease_fn = latent.easing(str(ease))
        loaded = load_model(ctx, model_key, client_id, request)
        G, cfg = loaded.generator, loaded.config.model
        a = class_of(ctx, loaded, class_a, request)
        b = class_of(ctx, loaded, class_b, request, field="interpolate.field.blend")
        seeds = latent.parse_seeds(seeds_text or "", max_count=MAX_KEYFRAMES + 1)
        _check_seed_count(ctx, request, len(seeds) + bool(use_photo))
        keys = latent.seed_latents(seeds, cfg.nz)  # (S, nz)
        photo_y = None
        if use_photo:
            if not photo:
                raise gr.Error(ctx.tr(request, "interpolate.error.no_projection"), print_exception=False)
            if photo.get("model") != model_key or len(photo.get("z", ())) != cfg.nz:
                raise gr.Error(ctx.tr(request, "interpolate.error.other_model"), print_exception=False)
            keys = torch.cat([torch.tensor(photo["z"], dtype=torch.float32)[None], keys])
            photo_y = photo.get("y")
        if keys.shape[0] < 2:
            if cfg.num_classes and a != b:
                keys = keys.expand(2, -1)  # one latent, two classes: a pure class morph
            else:
                raise gr.Error(ctx.tr(request, "interpolate.error.one_seed"), print_exception=False)
        n_keys = keys.shape[0]
        ys = None
        if cfg.num_classes:  # class weights of each keyframe, from class a (first) to class b (last)
            ys = latent.class_blend(a, b, torch.linspace(0, 1, n_keys), cfg.num_classes)  # (S, K)
            if photo_y is not None and a == b:
                ys[0] = torch.tensor(photo_y, dtype=torch.float32)  # the photo keeps the class it was matched with
        t = ease_fn(torch.linspace(0, 1, steps + 1, dtype=torch.float64))  # (T,)
        strips, smallest = [], {}
        for name in ("lerp", "slerp"):
            interp = latent.interpolator(name)
            z = torch.cat([interp(keys[i], keys[i + 1], t) for i in range(n_keys - 1)])  # ((S-1) T, nz)
            y = None if ys is None else torch.cat([latent.lerp(ys[i], ys[i + 1], t) for i in range(n_keys - 1)])
            images = latent.generate(G, z, y)  # ((S-1) T, H, W, C)
            sheet = contact_sheet(upscale(images, STRIP_FRAME_PX), cols=steps + 1, pad_value=255)
            strips.append(save_png(sheet, scratch_file(ctx, client_id, name, ".png")))
            smallest[name] = float(z.norm(dim=1).min())
        status = ctx.tr(request, "interpolate.status", rows=n_keys - 1, frames=steps + 1, lerp=smallest["lerp"],
                        slerp=smallest["slerp"], nz=cfg.nz, typical=cfg.nz**0.5)
        return strips[0], strips[1], status

    return interpolate


def make_project(ctx):
    def project_photo(client_id, model_key, photo_path, request: gr.Request):
        """Project an uploaded photo: (side-by-side image, the session's projection, status, use it)."""
        client_id = require_client(ctx, client_id, request)
        if not photo_path:
            raise gr.Error(ctx.tr(request, "interpolate.error.no_photo"), print_exception=False)
        path = Path(photo_path)
        name = escape(path.name)
        loaded = load_model(ctx, model_key, client_id, request)
        G, cfg = loaded.generator, loaded.config.model
        size = path.stat().st_size
        if size > MAX_PHOTO_BYTES:
            raise gr.Error(ctx.tr(request, "interpolate.error.photo_big", name=name, mb=size / 2**20,
                                  limit=MAX_PHOTO_BYTES // 2**20), print_exception=False)
        try:  # content-sniffed allowlist, bomb guard, EXIF orientation, centre crop
            pixels = decode_image(path.read_bytes(), cfg.res, fit="crop", min_size=8).pixels
        except SkipImage as e:
            raise gr.Error(ctx.tr(request, "interpolate.error.photo_bad", name=name, reason=escape(str(e))),
                           print_exception=False) from None
        pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
        D = None
        run_dir = loaded.path.parent
        if (run_dir / checkpoint.STATE_FILE).is_file():  # a run of this app: its D sharpens the match
            try:
                D = checkpoint.load_discriminator(run_dir)
            except Exception:
                D = None
        result = projection.project(G, pixels, steps=PROJECT_STEPS, seed=0, D=D, restarts=4, candidates=128,
                                max_seconds=PROJECT_SECONDS)
        target = latent.to_uint8(projection.image_to_tensor(pixels, cfg.res, cfg.channels))[0]
        pair = upscale(np.stack([target, result.recon]), 256)
        side = contact_sheet(pair, cols=2, pad=4, pad_value=255)
        out = save_png(side, scratch_file(ctx, client_id, "projection", ".png"))
        cls = ""
        if result.y is not None:
            k = int(result.y.argmax())
            names = loaded.class_names
            cls = ctx.tr(request, "interpolate.projected_class", name=escape(names[k] if k < len(names) else str(k)))
        state = {"model": model_key, "z": result.z.tolist(), "y": None if result.y is None else result.y.tolist()}
        status = ctx.tr(request, "interpolate.projected", name=name, steps=result.steps, seconds=result.seconds,
                        loss=result.loss, cls=cls)
        return out, state, status, True

    return project_photo


def build(ctx) -> None:
    seeds_box = ctx.shared.get("interp_seeds")
    if seeds_box is None:  # the Sample tab normally makes it
        seeds_box = gr.Textbox(value="1, 7, 42", label=ctx.t("interpolate.seeds"), render=False)
        ctx.shared["interp_seeds"] = seeds_box
    gr.Markdown(ctx.t("interpolate.intro"))
    with gr.Row():
        with gr.Column(min_width=260):
            model, (class_a, class_b), model_changed = model_picker(ctx, 2, ("sample.class", "interpolate.class_to"))
        with gr.Column(min_width=260):
            seeds_box.render()
            steps = gr.Slider(1, MAX_STEPS, value=8, step=1, label=ctx.t("interpolate.steps"))
            ease = gr.Radio(list(latent.EASINGS), value="linear", label=ctx.t("interpolate.easing"))
        with gr.Column(min_width=260):
            with gr.Accordion(ctx.t("interpolate.photo_box"), open=False):
                photo_file = gr.File(label=ctx.t("interpolate.photo"), type="filepath", file_count="single", height=160)
                project_btn = gr.Button(ctx.t("interpolate.project"))
                recon = gr.Image(label=ctx.t("interpolate.recon"), type="filepath", interactive=False, height=160)
                use_photo = gr.Checkbox(False, label=ctx.t("interpolate.use_photo"))
                photo_status = gr.Markdown()
            run = gr.Button(ctx.t("interpolate.run"), variant="primary")
            status = gr.Markdown()
    with gr.Row():  # the two paths side by side, frame for frame
        lerp_img = gr.Image(label=ctx.t("interpolate.lerp"), type="filepath", interactive=False)
        slerp_img = gr.Image(label=ctx.t("interpolate.slerp"), type="filepath", interactive=False)
    photo = gr.State(None)
    with gr.Accordion(ctx.t("common.explain"), open=False):
        gr.Markdown(ctx.t("interpolate.explain_md"), latex_delimiters=[{"left": "$$", "right": "$$", "display": True}])

    interpolate = guarded(ctx, make_interpolate(ctx))
    inputs = [ctx.client, model, class_a, class_b, seeds_box, steps, ease, use_photo, photo]
    outputs = [lerp_img, slerp_img, status]
    run.click(interpolate, inputs, outputs, api_name="interpolate", concurrency_id="interpolate")
    live = dict(trigger_mode="always_last", api_visibility="private", concurrency_id="interpolate", show_progress="minimal")
    gr.on([steps.release, ease.change, class_b.change, seeds_box.submit], interpolate, inputs, outputs, **live)
    model_changed.then(interpolate, inputs, outputs, **live)

    def interpolate_on_load(client_id, model_key, class_a, class_b, seeds_text, steps, ease, use_photo, photo,
                            request: gr.Request):
        """The first strips, once the page has its client id; quiet when there is nothing to show."""
        try:
            return interpolate(client_id, model_key, class_a, class_b, seeds_text, steps, ease, use_photo, photo,
                               request)
        except gr.Error:
            return [gr.skip()] * len(outputs)

    ctx.client.change(interpolate_on_load, inputs, outputs, api_visibility="private", concurrency_id="interpolate")
    project_photo = guarded(ctx, make_project(ctx))
    project_btn.click(project_photo, [ctx.client, model, photo_file], [recon, photo, photo_status, use_photo],
                      api_name="project_photo", concurrency_id="project", concurrency_limit=1)
