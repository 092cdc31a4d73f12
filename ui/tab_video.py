"""Video tab: a latent walk rendered to an MP4 (plays in the page) and a GIF, or streamed live.

The walk's latents come from `gan_core.latent` (keyframe loops, great circles, endless
walks), its frames from `gan_core.video`; this module validates, times and converts.
"""

from __future__ import annotations

import base64
import functools
import io
import time

import gradio as gr
import numpy as np
import torch
from PIL import Image

from gan_core import latent
from gan_core.errors import GanStudioError
from gan_core.device import available_cores, split_cores, torch_threads
from gan_core.video import live_frames, render_walk_frames, write_gif, write_mp4
from ui.common import guarded, log, require_client
from ui.tab_sample import check_float, check_int, class_of, load_model, model_picker, scratch_file

MAX_KEYFRAMES = 32
MIN_SIZE = 16
GIF_MAX_FPS = 15  # GIF delays are in 1/100 s and big GIFs are slow: the GIF is a lighter copy
GIF_MAX_SIZE = 256
LIVE_FPS = 20  # frames per second streamed to the page
LIVE_SECONDS = 60  # one live request ends after this; press Live again to go on
LIVE_MAX_SIZE = 256  # the browser upscales (pixelated), the server sends native pixels
SIZES = [64, 128, 256, 512]
FPS_CHOICES = [12, 15, 24, 30, 60]

STRINGS = {
    "en": {
        "video.intro": "Turn a walk through the latent space into a video: through keyframe seeds, or around a random loop. Or press **Live** to watch an endless walk right here.",
        "video.seeds": "Keyframe seeds, e.g. 1, 2, 3 (the first one seeds the random loop and the live walk)",
        "video.random_loop": "Random smooth loop instead of keyframes (a great circle)",
        "video.class_to": "Blend to class (conditional models)",
        "video.seconds": "Seconds",
        "video.fps": "Frames per second",
        "video.size": "Size in px (the long side)",
        "video.loop": "Loop back to the first keyframe",
        "video.interp": "Interpolation",
        "video.easing": "Easing",
        "video.psi": "Truncation ψ (1 = off)",
        "video.render": "Render video",
        "video.video": "Video (MP4, H.264)",
        "video.gif": "GIF download",
        "video.live": "▶ Live",
        "video.stop": "■ Stop",
        "video.live_box": f"Live walk (streams frames into the page for up to {LIVE_SECONDS} s)",
        "video.status": "{frames} frames at {fps} fps, {w}×{h} px: {seconds:.1f} s of video rendered in {took:.1f} s ({speed:.1f}× real time). The GIF follows in a moment.",
        "video.field.seconds": "Seconds",
        "video.field.fps": "Frames per second",
        "video.field.size": "Size",
        "video.field.psi": "Truncation ψ",
        "video.field.blend": "Blend to class",
        "video.error.one_seed": "A keyframe walk needs at least two seeds (e.g. 1, 2, 3), or one seed and another class to blend to; or tick “Random smooth loop”.",
        "video.error.too_many": "At most {n} keyframes; remove some seeds.",
        "video.explain_md": r"""
**A video is a path through the latent space.** Each frame is G(z_k) for a latent z_k on a path; at f frames per second, a video of s seconds has N = s·f frames.

**Keyframes.** Seeds 1, 2, 3 name latents z₁, z₂, z₃. Frame k sits at position u = k/N of the way; with K keyframes it lies in segment i = ⌊uK⌋ at t = e(uK − i), between keys i and i+1, and its latent is slerp(z_i, z_{i+1}, t) (or lerp). With *loop* on, the last keyframe leads back to the first, and u = 1 is exactly u = 0: the video loops without a jump.

**Random loop.** Two random vectors a, b span a plane; with u = a/|a| and v the part of b perpendicular to u (normalised), the great circle

$$z(\theta) = r\,(\cos\theta\;u + \sin\theta\;v), \qquad \theta = 2\pi k / N$$

keeps the same length r ≈ √nz in every frame, moves at constant speed and closes exactly.

**Easing** e(t) (smoothstep 3t² − 2t³, cosine (1 − cos πt)/2) slows down near keyframes so each one is seen; *linear* keeps a constant speed.

**The file.** Frames go to ffmpeg and are encoded as H.264 in the yuv420p colour format with the index at the front, which every browser plays. Small models are enlarged with "nearest neighbour", so pixels stay sharp.

**Live** computes frames as they are shown (an endless walk through seeds s, s+1, s+2, …), about 20 per second.
""",
    },
    "zh-CN": {
        "video.intro": "把潜空间中的一条路径变成视频：经过关键帧种子，或沿一个随机的闭环。也可以点 **实时**，直接在这里观看无尽的漫游。",
        "video.seeds": "关键帧种子，例如 1, 2, 3（第一个种子也用于随机闭环和实时漫游）",
        "video.random_loop": "用随机的平滑闭环代替关键帧（一个大圆）",
        "video.class_to": "混合到类别（条件模型）",
        "video.seconds": "秒数",
        "video.fps": "每秒帧数",
        "video.size": "尺寸（长边，像素）",
        "video.loop": "循环回到第一个关键帧",
        "video.interp": "插值方式",
        "video.easing": "缓动",
        "video.psi": "截断系数 ψ（1 = 不截断）",
        "video.render": "渲染视频",
        "video.video": "视频（MP4，H.264）",
        "video.gif": "GIF 下载",
        "video.live": "▶ 实时",
        "video.stop": "■ 停止",
        "video.live_box": f"实时漫游（把帧直接推送到页面，最长 {LIVE_SECONDS} 秒）",
        "video.status": "{frames} 帧，{fps} 帧/秒，{w}×{h} 像素：{seconds:.1f} 秒的视频用 {took:.1f} 秒渲染完成（实时速度的 {speed:.1f} 倍）。GIF 稍后生成。",
        "video.field.seconds": "秒数",
        "video.field.fps": "每秒帧数",
        "video.field.size": "尺寸",
        "video.field.psi": "截断系数 ψ",
        "video.field.blend": "混合到类别",
        "video.error.one_seed": "关键帧漫游至少需要两个种子（例如 1, 2, 3），或一个种子加另一个要混合的类别；也可以勾选“随机的平滑闭环”。",
        "video.error.too_many": "最多 {n} 个关键帧，请删掉一些种子。",
        "video.explain_md": r"""
**视频就是潜空间中的一条路径。** 每一帧是路径上某个潜向量 z_k 对应的图片 G(z_k)；每秒 f 帧、时长 s 秒的视频共有 N = s·f 帧。

**关键帧。** 种子 1, 2, 3 确定潜向量 z₁, z₂, z₃。第 k 帧位于路径的 u = k/N 处；有 K 个关键帧时，它落在第 i = ⌊uK⌋ 段、t = e(uK − i) 的位置，介于关键帧 i 和 i+1 之间，潜向量为 slerp(z_i, z_{i+1}, t)（或 lerp）。打开*循环*时，最后一个关键帧会回到第一个，且 u = 1 恰好等于 u = 0：视频循环播放不会跳帧。

**随机闭环。** 两个随机向量 a、b 张成一个平面；令 u = a/|a|，v 为 b 中垂直于 u 的部分（归一化），则大圆

$$z(\theta) = r\,(\cos\theta\;u + \sin\theta\;v), \qquad \theta = 2\pi k / N$$

每一帧的长度都是 r ≈ √nz，匀速运动，并且首尾严格闭合。

**缓动** e(t)（smoothstep 3t² − 2t³，cosine (1 − cos πt)/2）在关键帧附近减速，让每个关键帧都被看清；*linear* 保持匀速。

**文件。** 帧被送进 ffmpeg，编码为 H.264、yuv420p 颜色格式，索引放在文件开头，所有浏览器都能播放。小模型的图片用“最近邻”放大，像素保持清晰。

**实时**模式边显示边计算（经过种子 s, s+1, s+2, … 的无尽漫游），大约每秒 20 帧。
""",
    },
}


def guarded_stream(ctx, fn):
    """`ui.common.guarded` for a generator handler: gradio streams only from generator functions."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        request = kwargs.get("request") or next((a for a in args if isinstance(a, gr.Request)), None)
        try:
            yield from fn(*args, **kwargs)
        except gr.Error:
            raise
        except (GanStudioError, ValueError) as e:
            raise gr.Error(ctx.tr(request, "common.error.bad_input", detail=str(e)), print_exception=False) from None
        except Exception as e:
            log.exception("handler %s failed", getattr(fn, "__name__", fn))
            raise gr.Error(ctx.tr(request, "common.error.internal", kind=type(e).__name__), print_exception=False) from None

    return wrapper


def walk_latents(cfg, seeds, random_loop, loop, interp, ease, psi, a, b, n_frames, ctx, request):
    """The walk's latents (N, nz) and class weights (N, K) or None, from the form's choices."""
    k = cfg.num_classes
    if random_loop:
        positions = latent.loop_positions(n_frames)
        z = latent.truncate(latent.great_circle_loop(cfg.nz, positions, seeds[0]), psi)
        n_keys = 2  # the class goes a -> b -> a around the loop
    else:
        if len(seeds) > MAX_KEYFRAMES:
            raise gr.Error(ctx.tr(request, "video.error.too_many", n=MAX_KEYFRAMES), print_exception=False)
        keys = latent.truncate(latent.seed_latents(seeds, cfg.nz), psi)  # (S, nz)
        if keys.shape[0] < 2:
            if not (k and a != b):
                raise gr.Error(ctx.tr(request, "video.error.one_seed"), print_exception=False)
            keys = keys.expand(2, -1)  # one latent, two classes: a class morph
        n_keys = keys.shape[0]
        # loop: positions i/N around the closed path; open: from the first key to the last, inclusive
        positions = latent.loop_positions(n_frames) if loop else torch.linspace(
            0, (n_keys - 1) / n_keys, n_frames, dtype=torch.float64)
        z = latent.keyframe_loop(keys, positions, interp, ease)
    y = None
    if k:
        ys = latent.class_blend(a, b, torch.linspace(0, 1, n_keys), k)  # (keys, K): a first, b last
        y = latent.keyframe_loop(ys, positions, "lerp", ease)  # same segments and easing as z
    return z, y


def make_render(ctx):
    """The two render handlers: the MP4 first (it plays as soon as it is there), then the GIF."""
    limits = ctx.limits

    def prepare(client_id, model_key, class_a, class_b, seeds_text, random_loop, seconds, fps, size, loop,
                interp, ease, psi, request):
        """Validate the form: (client id, generator, walk(n) -> (z, y), seconds, fps, size)."""
        client_id = require_client(ctx, client_id, request)
        seconds = check_float(ctx, request, seconds, 0.5, limits.max_video_seconds, "video.field.seconds")
        fps = check_int(ctx, request, fps, 1, limits.max_video_fps, "video.field.fps")
        size = check_int(ctx, request, size, MIN_SIZE, limits.max_video_size, "video.field.size")
        psi = check_float(ctx, request, psi, 0.0, 2.0, "video.field.psi")
        latent.interpolator(str(interp))
        latent.easing(str(ease))
        loaded = load_model(ctx, model_key, client_id, request)
        a = class_of(ctx, loaded, class_a, request)
        b = class_of(ctx, loaded, class_b, request, field="video.field.blend")
        seeds = latent.parse_seeds(seeds_text or "", max_count=MAX_KEYFRAMES + 1)
        walk = functools.partial(walk_latents, loaded.config.model, seeds, bool(random_loop), bool(loop), str(interp),
                                 str(ease), psi, a, b, ctx=ctx, request=request)
        return client_id, loaded.generator, walk, seconds, fps, size

    def render_video(client_id, model_key, class_a, class_b, seeds_text, random_loop, seconds, fps, size, loop,
                     interp, ease, psi, request: gr.Request, progress=gr.Progress()):
        """Render the walk as an H.264 MP4: (path, status)."""
        t0 = time.perf_counter()
        client_id, G, walk, seconds, fps, size = prepare(client_id, model_key, class_a, class_b, seeds_text,
                                                         random_loop, seconds, fps, size, loop, interp, ease, psi,
                                                         request)
        n = max(2, round(seconds * fps))
        z, y = walk(n)  # (N, nz), (N, K) or None: small; the frames are made lazily

        def frames():  # native size: ffmpeg upscales (nearest) on its way to yuv420p
            for i, frame in enumerate(render_walk_frames(G, z, y)):
                if i % 30 == 0:
                    progress(i / n)
                yield frame

        torch_n, x264_n = split_cores(available_cores())
        with torch_threads(torch_n):  # G and x264 side by side, each on its own cores
            mp4 = write_mp4(frames(), scratch_file(ctx, client_id, "walk", ".mp4"), fps, size=size, threads=x264_n)
        took = time.perf_counter() - t0
        status = ctx.tr(request, "video.status", frames=mp4.frames, fps=fps, w=mp4.width, h=mp4.height,
                        seconds=mp4.seconds, took=took, speed=mp4.seconds / max(took, 1e-6))
        return str(mp4.path), status

    def render_gif(client_id, model_key, class_a, class_b, seeds_text, random_loop, seconds, fps, size, loop,
                   interp, ease, psi, request: gr.Request):
        """The same walk as a GIF, lighter: at most GIF_MAX_FPS frames/s and GIF_MAX_SIZE px. Its path."""
        client_id, G, walk, seconds, fps, size = prepare(client_id, model_key, class_a, class_b, seeds_text,
                                                         random_loop, seconds, fps, size, loop, interp, ease, psi,
                                                         request)
        gif_fps = min(fps, GIF_MAX_FPS)
        z, y = walk(max(2, round(seconds * gif_fps)))
        out = scratch_file(ctx, client_id, "walk", ".gif")
        return str(write_gif(render_walk_frames(G, z, y, size=min(size, GIF_MAX_SIZE)), out, gif_fps).path)

    return render_video, render_gif


def frame_html(frame: np.ndarray, size: int) -> str:
    """One frame as an <img> with a PNG data URL at native size; the browser enlarges it pixelated."""
    a = frame[:, :, 0] if frame.shape[2] == 1 else frame
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", compress_level=1)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<img class="gs-live" alt="live frame" src="data:image/png;base64,{data}" '
            f'style="width:{size}px;max-width:100%;image-rendering:pixelated;display:block;margin:auto">')


def make_live(ctx):
    limits = ctx.limits

    def live(client_id, model_key, class_a, seeds_text, interp, ease, psi, size, request: gr.Request):
        """Stream an endless walk (seeds s, s+1, ...) at LIVE_FPS for at most LIVE_SECONDS."""
        client_id = require_client(ctx, client_id, request)
        size = min(check_int(ctx, request, size, MIN_SIZE, limits.max_video_size, "video.field.size"), LIVE_MAX_SIZE)
        psi = check_float(ctx, request, psi, 0.0, 2.0, "video.field.psi")
        loaded = load_model(ctx, model_key, client_id, request)
        y = class_of(ctx, loaded, class_a, request)
        seed = latent.parse_seeds(seeds_text or "", max_count=MAX_KEYFRAMES + 1)[0]
        frames = live_frames(loaded.generator, seed, size=None, frames_per_key=2 * LIVE_FPS, interp=str(interp),
                             ease=str(ease), truncation=psi, y=y, batch_size=4)
        period = 1.0 / LIVE_FPS
        start = next_at = time.perf_counter()
        try:
            for frame in frames:
                now = time.perf_counter()
                if now - start > LIVE_SECONDS:
                    break
                if now < next_at:
                    time.sleep(next_at - now)
                next_at = max(next_at + period, time.perf_counter() - period)  # fall behind by at most a frame
                yield frame_html(frame, size)
        finally:
            frames.close()

    return live


def build(ctx) -> None:
    limits = ctx.limits
    gr.Markdown(ctx.t("video.intro"))
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            model, (class_a, class_b), _ = model_picker(ctx, 2, ("sample.class", "video.class_to"))
            seeds = gr.Textbox(value="1, 2, 3", label=ctx.t("video.seeds"))
            random_loop = gr.Checkbox(False, label=ctx.t("video.random_loop"))
            seconds = gr.Slider(0.5, limits.max_video_seconds, value=4, step=0.5, label=ctx.t("video.seconds"))
            with gr.Row():
                fps = gr.Dropdown([f for f in FPS_CHOICES if f <= limits.max_video_fps], value=24,
                                  label=ctx.t("video.fps"), allow_custom_value=True)
                size = gr.Dropdown([s for s in SIZES if s <= limits.max_video_size], value=256,
                                   label=ctx.t("video.size"), allow_custom_value=True)
            loop = gr.Checkbox(True, label=ctx.t("video.loop"))
            with gr.Row():
                interp = gr.Radio(list(latent.INTERPS), value="slerp", label=ctx.t("video.interp"))
                ease = gr.Radio(list(latent.EASINGS), value="smoothstep", label=ctx.t("video.easing"))
            psi = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label=ctx.t("video.psi"))
            render = gr.Button(ctx.t("video.render"), variant="primary")
            status = gr.Markdown()
        with gr.Column(scale=2):
            video = gr.Video(label=ctx.t("video.video"), autoplay=True, loop=True, interactive=False, format="mp4",
                             height=420)
            gif = gr.File(label=ctx.t("video.gif"), interactive=False, height=80)
            with gr.Group():
                gr.Markdown(ctx.t("video.live_box"))
                with gr.Row():
                    live_btn = gr.Button(ctx.t("video.live"))
                    stop_btn = gr.Button(ctx.t("video.stop"), variant="stop")
                live_view = gr.HTML(elem_id="gs-live-view", min_height=64)
    with gr.Accordion(ctx.t("common.explain"), open=False):
        gr.Markdown(ctx.t("video.explain_md"), latex_delimiters=[{"left": "$$", "right": "$$", "display": True}])

    render_video, render_gif = (guarded(ctx, fn) for fn in make_render(ctx))
    form = [ctx.client, model, class_a, class_b, seeds, random_loop, seconds, fps, size, loop, interp, ease, psi]
    render.click(render_video, form, [video, status], api_name="render_video", concurrency_id="video",
                 concurrency_limit=1).success(render_gif, form, gif, api_name="render_gif", concurrency_id="video")
    live = guarded_stream(ctx, make_live(ctx))
    live_event = live_btn.click(live, [ctx.client, model, class_a, seeds, interp, ease, psi, size], live_view,
                                api_name="live", concurrency_id="live", concurrency_limit=2, show_progress="hidden")
    stop_btn.click(None, None, None, cancels=[live_event], api_visibility="private")
