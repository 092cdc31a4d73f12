"""Sample tab: the images a model makes for a seed, a count, a truncation and a class.

Also home of the small helpers the other generator tabs share (model and class pickers,
loading with clear errors, number checks, scratch files), so every tab validates the same
way. Handlers validate, call `gan_core.latent` / `gan_core.video`, and convert.
"""

from __future__ import annotations

import io
import math
import secrets
import time
import zipfile
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from gan_core import latent
from gan_core.video import contact_sheet, resize_frames
from ui.common import escape, guarded, require_client

MAX_UI_SEED = 2**32 - 1  # what a browser's number box holds exactly; StyleGAN's seed range too
DISPLAY_PX = 64  # smaller images are shown enlarged (nearest) to at least this, so pixels stay crisp
GRID_DISPLAY_PX = 512

STRINGS = {
    "en": {
        "sample.intro": "Every image comes from a **seed**: the seed names a random latent vector z, and the generator turns z into a picture. The same seed always gives the same image.",
        "sample.class": "Class (conditional models)",
        "sample.random": "🎲 Random",
        "sample.count": "How many images",
        "sample.psi": "Truncation ψ (1 = off, smaller = more typical)",
        "sample.run": "Sample",
        "sample.grid": "Grid",
        "sample.gallery": "Images (click one to send its seed to Interpolate)",
        "sample.downloads": "Download: the grid and a zip of every image (PNG)",
        "sample.caption": "seed {seed}",
        "sample.status": "{n} images of {res}×{res} px, seeds {first}–{last}, in {ms:.0f} ms.",
        "sample.picked": "Seed {seed} added to the Interpolate tab's seeds.",
        "sample.error.unknown_model": "The model {model} is not available (it may have been removed); pick another one.",
        "sample.error.number": "{field}: {value} is not a number; type a number.",
        "sample.error.empty": "{field} is empty: type a number.",
        "sample.error.integer": "{field}: {value} must be a whole number.",
        "sample.error.class": "{field}: {detail}",
        "sample.field.seed": "Seed",
        "sample.field.count": "How many images",
        "sample.field.psi": "Truncation ψ",
        "sample.field.class": "Class",
        "sample.explain_md": r"""
**Seeds name latents.** A seed starts a random number generator that draws z, a vector of `nz` numbers from a standard normal distribution, z ~ N(0, I). Image i of a batch uses seed + i, so every picture has its own seed: note it, and you can make it again or use it as a keyframe in *Interpolate* and *Video*.

**The generator is a function.** G maps z (and, for a conditional model, a class y) to an image: x = G(z, y). Nothing is searched or looked up; one pass through the network makes each picture, which is why sampling is instant.

**Truncation** pulls z toward the average latent (0):

$$z' = \psi \, z, \qquad 0 \le \psi \le 2$$

With ψ = 1 nothing changes. Smaller ψ gives more typical, cleaner but less varied images (ψ = 0 is the single "average" image); ψ above 1 exaggerates. This is the quality–variety trade-off of BigGAN and StyleGAN.

**Conditional models** also take a class: the same seed with another class keeps the "style" (pose, colours) and changes the kind of object.
""",
    },
    "zh-CN": {
        "sample.intro": "每张图片都来自一个**随机种子**：种子确定一个随机潜向量 z，生成器把 z 变成图片。同一个种子总是得到同一张图片。",
        "sample.class": "类别（条件模型）",
        "sample.random": "🎲 随机",
        "sample.count": "图片数量",
        "sample.psi": "截断系数 ψ（1 = 不截断，越小越典型）",
        "sample.run": "采样",
        "sample.grid": "网格",
        "sample.gallery": "单张图片（点击一张，把它的种子送到“插值”页）",
        "sample.downloads": "下载：网格图和全部图片的 zip（PNG）",
        "sample.caption": "种子 {seed}",
        "sample.status": "{n} 张 {res}×{res} 像素的图片，种子 {first}–{last}，用时 {ms:.0f} 毫秒。",
        "sample.picked": "种子 {seed} 已加入“插值”页的种子列表。",
        "sample.error.unknown_model": "模型 {model} 不可用（可能已被删除），请选择其他模型。",
        "sample.error.number": "{field}：{value} 不是数字，请输入一个数字。",
        "sample.error.empty": "{field}为空：请输入一个数字。",
        "sample.error.integer": "{field}：{value} 必须是整数。",
        "sample.error.class": "{field}：{detail}",
        "sample.field.seed": "随机种子",
        "sample.field.count": "图片数量",
        "sample.field.psi": "截断系数 ψ",
        "sample.field.class": "类别",
        "sample.explain_md": r"""
**种子确定潜向量。** 种子启动一个随机数生成器，从标准正态分布中抽取 z，即一个有 `nz` 个数的向量，z ~ N(0, I)。一批中的第 i 张图片使用种子 seed + i，所以每张图片都有自己的种子：记下它，就能再次生成，或者在“插值”和“视频”页把它当作关键帧。

**生成器是一个函数。** G 把 z（条件模型还有类别 y）映射成一张图片：x = G(z, y)。这里没有搜索也没有查表，网络前向计算一次就得到一张图，所以采样是即时的。

**截断技巧**把 z 拉向平均潜向量（0）：

$$z' = \psi \, z, \qquad 0 \le \psi \le 2$$

ψ = 1 时不变。ψ 越小，图片越典型、越干净，但多样性越低（ψ = 0 只剩一张“平均”图片）；ψ 大于 1 会夸大特征。这就是 BigGAN 和 StyleGAN 中质量与多样性的权衡。

**条件模型**还需要一个类别：同一个种子换一个类别，会保留“风格”（姿态、颜色），改变物体的种类。
""",
    },
}


# ---------------------------------------------------------------------------- shared helpers


def _check_filled(ctx, request, value: Any, name: str) -> None:
    """A cleared number box arrives as None (or ""): say it is empty, not that "None" is no number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise gr.Error(ctx.tr(request, "sample.error.empty", field=name), print_exception=False)


def check_int(ctx, request, value: Any, lo: int, hi: int, field: str) -> int:
    """`value` as an int in [lo, hi], or a gr.Error naming the field (an i18n key) in the user's language."""
    name = ctx.tr(request, field)
    _check_filled(ctx, request, value, name)
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise gr.Error(ctx.tr(request, "sample.error.number", field=name, value=escape(str(value))), print_exception=False) from None
    if not math.isfinite(value):
        raise gr.Error(ctx.tr(request, "sample.error.number", field=name, value=value), print_exception=False)
    if value != int(value):
        raise gr.Error(ctx.tr(request, "sample.error.integer", field=name, value=value), print_exception=False)
    if not lo <= int(value) <= hi:
        raise gr.Error(ctx.tr(request, "common.error.range", field=name, value=int(value), lo=lo, hi=hi), print_exception=False)
    return int(value)


def check_float(ctx, request, value: Any, lo: float, hi: float, field: str) -> float:
    """`value` as a finite float in [lo, hi], or a gr.Error naming the field."""
    name = ctx.tr(request, field)
    _check_filled(ctx, request, value, name)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise gr.Error(ctx.tr(request, "sample.error.number", field=name, value=escape(str(value))), print_exception=False) from None
    if not math.isfinite(v) or not lo <= v <= hi:
        raise gr.Error(ctx.tr(request, "common.error.range", field=name, value=v, lo=lo, hi=hi), print_exception=False)
    return v


def load_model(ctx, key: Any, client_id: str, request):
    """The LoadedGenerator behind a dropdown key (bundled or this client's own), cached by the registry."""
    if not key or not isinstance(key, str):
        raise gr.Error(ctx.tr(request, "common.error.no_model"), print_exception=False)
    try:
        return ctx.registry.load(key, client_id)
    except KeyError:
        raise gr.Error(ctx.tr(request, "sample.error.unknown_model", model=escape(key)), print_exception=False) from None


def class_of(ctx, loaded, spec: Any, request, field: str = "sample.field.class") -> int | None:
    """The class index for a conditional model (None for an unconditional one); first class if unset."""
    k = loaded.config.model.num_classes
    if k == 0:
        return None
    if spec is None or str(spec).strip() == "":
        return 0
    try:
        return latent.class_index(spec, loaded.class_names, k)
    except latent.LatentError as e:
        raise gr.Error(ctx.tr(request, "sample.error.class", field=ctx.tr(request, field), detail=escape(str(e))), print_exception=False) from None


def class_choices(loaded) -> list[str]:
    """What a class dropdown offers: the class names (or indices when a model has none)."""
    k = loaded.config.model.num_classes
    names = list(loaded.class_names)
    return names if len(names) == k else [str(i) for i in range(k)]


def class_update(ctx, key: Any, client_id: Any, n: int = 1) -> list[dict]:
    """Updates for n class dropdowns after the model changed: choices, first class, shown only when conditional."""
    try:
        loaded = ctx.registry.load(key, client_id) if key else None
    except Exception:  # a missing or broken model: hide the class pickers; sampling will say why
        loaded = None
    if loaded is None or loaded.config.model.num_classes == 0:
        return [gr.update(visible=False, choices=[], value=None)] * n
    choices = class_choices(loaded)
    return [gr.update(visible=True, choices=choices, value=choices[0])] * n


def model_picker(ctx, n_class_pickers: int = 1, class_labels: tuple[str, ...] = ("sample.class",)):
    """A model dropdown (refreshed when focused: new runs and uploads appear) and its class dropdowns.

    Returns (model_dropdown, [class_dropdown, ...], changed): `changed` is the event that
    updates the class pickers, for callers to chain `.then(...)` onto. Values are free text on the server side
    (allow_custom_value) because the handlers validate them with a message in the user's
    language; the browser only offers the listed choices.
    """
    registry = ctx.registry
    default = registry.default_key()
    model = gr.Dropdown(
        choices=registry.choices(None), value=default, label=ctx.t("common.model"), allow_custom_value=True
    )
    first = class_update(ctx, default, None, 1)[0]
    classes = [
        gr.Dropdown(
            choices=first.get("choices") or [], value=first.get("value"), visible=first.get("visible", False),
            label=ctx.t(class_labels[min(i, len(class_labels) - 1)]), allow_custom_value=True,
        )
        for i in range(n_class_pickers)
    ]  # fmt: skip

    def refresh(client_id, current):
        choices = registry.choices(client_id if ctx.workspace.valid(client_id) else None)
        keys = [k for _, k in choices]
        return gr.update(choices=choices, value=current if current in keys else (keys[0] if keys else None))

    model.focus(refresh, [ctx.client, model], [model], queue=False, api_visibility="private")
    def on_change(key, cid):
        updates = class_update(ctx, key, cid, n_class_pickers)
        return updates[0] if n_class_pickers == 1 else updates  # one output takes a bare update, not a list

    changed = model.change(on_change, [model, ctx.client], classes, queue=False, api_visibility="private")
    return model, classes, changed


def scratch_file(ctx, client_id: str, stem: str, suffix: str) -> Path:
    """A fresh file name in the client's scratch folder (names made here, never from input)."""
    folder = ctx.workspace.scratch(client_id)
    ctx.workspace.clean_scratch(client_id)  # drop what this client made more than 10 minutes ago
    return folder / f"{stem}-{time.strftime('%H%M%S')}-{secrets.token_hex(3)}{suffix}"


def scratch_dir(ctx, client_id: str, stem: str) -> Path:
    """A fresh folder in the client's scratch folder, for the files of one request."""
    d = scratch_file(ctx, client_id, stem, "")
    d.mkdir()
    return d


def upscale(images: np.ndarray, min_px: int) -> np.ndarray:
    """uint8 (N, H, W, C) enlarged by an integer factor (nearest) so the side is at least min_px; RGB."""
    h, w = images.shape[1:3]
    f = max(1, -(-min_px // max(h, w)))
    return images if f == 1 and images.shape[3] == 3 else resize_frames(images, (h * f, w * f), "nearest")


def png_bytes(image: np.ndarray) -> bytes:
    """uint8 (H, W, C) as PNG bytes, fast: compress level 1 (a third of the default's time, files ~20% larger)."""
    a = image[:, :, 0] if image.ndim == 3 and image.shape[2] == 1 else image
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def save_png(image: np.ndarray, path: Path) -> str:
    """A scratch PNG (a fresh name nobody reads yet, so no temp file or fsync is needed); its path."""
    path.write_bytes(png_bytes(image))
    return str(path)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip of in-memory files (names made by the app), stored: PNGs are compressed already."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ---------------------------------------------------------------------------- handlers


def make_sample(ctx):
    limits = ctx.limits

    def sample(client_id, model_key, seed, count, psi, class_name, request: gr.Request):
        """Images of seeds seed .. seed + count - 1: grid, captioned gallery, downloads, shown seeds."""
        t0 = time.perf_counter()
        client_id = require_client(ctx, client_id, request)
        seed = check_int(ctx, request, seed, 0, MAX_UI_SEED, "sample.field.seed")
        count = check_int(ctx, request, count, 1, limits.max_samples, "sample.field.count")
        psi = check_float(ctx, request, psi, 0.0, 2.0, "sample.field.psi")
        loaded = load_model(ctx, model_key, client_id, request)
        y = class_of(ctx, loaded, class_name, request)
        seeds = list(range(seed, seed + count))
        images = latent.sample(loaded.generator, seeds, y=y, truncation=psi)  # (N, H, W, C) uint8
        out = scratch_dir(ctx, client_id, "sample")
        names = [f"seed{s:010d}.png" for s in seeds]
        pngs = {name: png_bytes(im) for name, im in zip(names, images)}
        cols = max(1, math.ceil(math.sqrt(count)))
        grid = contact_sheet(images, cols=cols, pad_value=255)
        pngs["grid.png"] = png_bytes(grid)
        for name, data in pngs.items():
            (out / name).write_bytes(data)
        zip_path = out / f"samples-{seeds[0]}-{seeds[-1]}.zip"
        zip_path.write_bytes(zip_bytes(pngs))
        # small images are shown enlarged (nearest neighbour) so their pixels stay crisp
        grid_path = str(out / "grid.png")
        if images.shape[1] * cols < GRID_DISPLAY_PX:
            grid_path = save_png(contact_sheet(upscale(images, GRID_DISPLAY_PX // cols), cols=cols, pad_value=255),
                                 out / "grid-view.png")
        shown = [str(out / n) for n in names]
        if images.shape[1] < DISPLAY_PX:
            shown = [save_png(im, out / f"view-{n}") for n, im in zip(names, upscale(images, DISPLAY_PX))]
        gallery = [(p, ctx.tr(request, "sample.caption", seed=s)) for p, s in zip(shown, seeds)]
        status = ctx.tr(request, "sample.status", n=count, res=images.shape[1], first=seeds[0], last=seeds[-1],
                        ms=1000 * (time.perf_counter() - t0))
        return grid_path, gallery, [str(out / "grid.png"), str(zip_path)], status, seeds

    return sample


def append_seed(text: str, shown: list[int] | None, evt: gr.SelectData) -> str:
    """The Interpolate seeds text with the picked gallery image's seed appended."""
    if not shown or evt.index is None:
        return text
    i = evt.index if isinstance(evt.index, int) else evt.index[0]
    if not 0 <= i < len(shown):
        return text
    seed = int(shown[i])
    base = (text or "").strip().rstrip(",").strip()
    try:
        if latent.parse_seeds(base)[-1] == seed:
            return text  # picked twice in a row: a keyframe repeated adds nothing
    except latent.LatentError:
        pass
    return f"{base}, {seed}" if base else str(seed)


# ---------------------------------------------------------------------------- layout


def build(ctx) -> None:
    limits = ctx.limits
    gr.Markdown(ctx.t("sample.intro"))
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            model, (klass,), model_changed = model_picker(ctx)
            with gr.Row():
                # no precision=0: Gradio would round 3.7 to 4 unseen; check_int says it is not whole
                seed = gr.Number(value=0, label=ctx.t("common.seed"), scale=3)
                random_btn = gr.Button(ctx.t("sample.random"), scale=1, min_width=110)
            count = gr.Slider(1, limits.max_samples, value=min(16, limits.max_samples), step=1, label=ctx.t("sample.count"))
            psi = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label=ctx.t("sample.psi"))
            run = gr.Button(ctx.t("sample.run"), variant="primary")
            status = gr.Markdown()
        with gr.Column(scale=2):
            grid = gr.Image(label=ctx.t("sample.grid"), type="filepath", format="png", interactive=False)
    gallery = gr.Gallery(label=ctx.t("sample.gallery"), columns=8, height=None, format="png",
                         object_fit="contain", allow_preview=False, interactive=False)
    files = gr.File(label=ctx.t("sample.downloads"), file_count="multiple", interactive=False)
    shown = gr.State([])
    with gr.Accordion(ctx.t("common.explain"), open=False):
        gr.Markdown(ctx.t("sample.explain_md"), latex_delimiters=[{"left": "$$", "right": "$$", "display": True}])

    # The Interpolate tab renders this box; picking an image here appends its seed to it.
    seeds_box = ctx.shared.get("interp_seeds")
    if seeds_box is None:
        seeds_box = gr.Textbox(value="1, 7, 42", label=ctx.t("interpolate.seeds"), render=False)
        ctx.shared["interp_seeds"] = seeds_box

    sample = guarded(ctx, make_sample(ctx))
    inputs = [ctx.client, model, seed, count, psi, klass]
    outputs = [grid, gallery, files, status, shown]
    run.click(sample, inputs, outputs, api_name="sample", concurrency_id="sample")
    # sliders and pickers resample as they move; "always_last" drops stale requests
    live = dict(trigger_mode="always_last", api_visibility="private", concurrency_id="sample", show_progress="minimal")
    def sample_live(client_id, model_key, seed, count, psi, class_name, request: gr.Request):
        """Resampling as the user types or drags: a half-typed value is said in the status line,
        not in a pop-up for every keystroke (the Sample button still pops it up)."""
        try:
            return sample(client_id, model_key, seed, count, psi, class_name, request)
        except gr.Error as e:
            return [gr.skip()] * 3 + [f"⚠️ {e.message}", gr.skip()]

    gr.on([seed.change, count.release, psi.release, klass.change], sample_live, inputs, outputs, **live)
    model_changed.then(sample_live, inputs, outputs, **live)  # after the class pickers follow the new model

    def sample_on_load(client_id, model_key, seed, count, psi, class_name, request: gr.Request):
        """The first grid, once the page has its client id; quiet when there is nothing to show."""
        try:
            return sample(client_id, model_key, seed, count, psi, class_name, request)
        except gr.Error:
            return [gr.skip()] * len(outputs)

    ctx.client.change(sample_on_load, inputs, outputs, api_visibility="private", concurrency_id="sample")
    random_btn.click(lambda: secrets.randbelow(2**31), None, seed, queue=False, api_visibility="private")

    def picked(text, shown_seeds, evt: gr.SelectData, request: gr.Request):
        new = append_seed(text, shown_seeds, evt)
        if new != text:
            gr.Info(ctx.tr(request, "sample.picked", seed=new.rsplit(",", 1)[-1].strip()))
        return new

    gallery.select(picked, [seeds_box, shown], seeds_box, api_visibility="private")
