"""Models tab: the bundled models with their cards, uploads (safetensors only, validated) and downloads.

An upload is copied into a folder this module names, validated there with
`gan_core.checkpoint.load_generator` (which refuses pickles by their bytes and checks every
tensor before loading), and only then moved into the client's uploads/. Nothing from the
upload's name reaches the disk; the name is shown escaped.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import secrets
import shutil
import time
import zipfile
from pathlib import Path

import gradio as gr

from gan_core import checkpoint
from gan_core.config import ConfigError, RunConfig
from gan_core.errors import CheckpointError
from gan_core.video import grid_files
from ui.common import escape, guarded, require_client

PICKLE_SUFFIXES = {".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".tar", ".zip"}
MAX_UPLOADED_MODELS = 5  # per client; the time-to-live sweep removes them with the client's folder
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif"}
EXPORT_FILES = (checkpoint.MODEL_FILE, checkpoint.CONFIG_FILE, "README.md", "metrics.jsonl")
MAX_EXPORT_GRIDS = 8  # the Hub folder keeps the latest sample grids, not every one of a long run
MD_IMAGE_RE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
TIME_ROW_RE = re.compile(r"^\|\s*training time\s*\|\s*([^|]+?)\s*\|", re.MULTILINE)

STRINGS = {
    "en": {
        "models.intro": "The models you can use in the other tabs: the bundled ones, your own training runs and your uploads. Each has a card that says what it was trained on and how.",
        "models.card_image": "Samples",
        "models.download_file": "⬇ Model (.safetensors)",
        "models.download_zip": "⬇ Hub folder (.zip)",
        "models.delete": "Remove this upload",
        "models.upload_box": "Add a model",
        "models.upload": "A GAN Studio model file (.safetensors only; pickles such as .pt or .pkl are refused)",
        "models.add": "Check and add",
        "models.no_card": "*This model has no card.*",
        "models.kind.uncond": "unconditional",
        "models.kind.cond": "class-conditional, {k} classes",
        "models.summary": "**{kind}** · {res}×{res} px, {channels} channel(s) · latent size nz = {nz} · {params:.2f} M parameters · file {mb:.1f} MB",
        "models.summary.classes": "Classes: {names}",
        "models.summary.time": "Training time: {time}",
        "models.added": "{name} passed every check and was added as “{label}”. It is now selectable in every tab.",
        "models.removed": "Removed.",
        "models.error.no_file": "Choose a .safetensors file first.",
        "models.error.pickle": "{name} was refused: it is a PyTorch pickle ({suffix}). Loading a pickle can run any code, so GAN Studio only accepts .safetensors files; convert it with safetensors.torch.save_file.",
        "models.error.suffix": "{name} was refused: only .safetensors model files can be added.",
        "models.error.too_big": "{name} was refused: {mb:.0f} MB is more than the {limit} MB upload limit.",
        "models.error.invalid": "{name} was refused: {reason}",
        "models.error.too_many": "You already have {n} uploaded models; remove one first.",
        "models.error.not_upload": "Only your uploads can be removed here.",
        "models.explain_md": r"""
**What a model file holds.** A generator is a list of weight tensors (the numbers learned in training) plus a description of its shape: resolution, channels, latent size nz, width, classes. GAN Studio stores both in one **safetensors** file: the tensors as raw numbers and the configuration as JSON in the header.

**Why only safetensors.** The common `.pt` / `.pkl` files are Python *pickles*: loading one runs instructions stored in the file, so a shared checkpoint can run any program on the server. A safetensors file is only numbers and text. Before a single weight is used, the file is checked: the header's size, the number, names, shapes and types of the tensors against the configuration, and that no weight is NaN or infinite.

**The Hub folder** (the zip) follows the Hugging Face layout: `model.safetensors`, `config.json`, a `README.md` model card and sample grids, ready to share.

**A model card** records the data, the loss, the number of steps, the training time and the hardware, so a result can be understood and reproduced.
""",
    },
    "zh-CN": {
        "models.intro": "可以在其他页面使用的模型：内置模型、你自己的训练结果和你上传的模型。每个模型都有一张模型卡，说明它用什么数据、怎样训练。",
        "models.card_image": "样例",
        "models.download_file": "⬇ 模型（.safetensors）",
        "models.download_zip": "⬇ Hub 文件夹（.zip）",
        "models.delete": "删除这个上传的模型",
        "models.upload_box": "添加模型",
        "models.upload": "GAN 工作室模型文件（只接受 .safetensors；.pt、.pkl 等 pickle 文件会被拒绝）",
        "models.add": "检查并添加",
        "models.no_card": "*这个模型没有模型卡。*",
        "models.kind.uncond": "无条件",
        "models.kind.cond": "类别条件，{k} 个类别",
        "models.summary": "**{kind}** · {res}×{res} 像素，{channels} 个通道 · 潜向量维度 nz = {nz} · {params:.2f} M 个参数 · 文件 {mb:.1f} MB",
        "models.summary.classes": "类别：{names}",
        "models.summary.time": "训练时间：{time}",
        "models.added": "{name} 通过了全部检查，已添加为“{label}”。现在所有页面都可以选择它。",
        "models.removed": "已删除。",
        "models.error.no_file": "请先选择一个 .safetensors 文件。",
        "models.error.pickle": "{name} 被拒绝：这是一个 PyTorch pickle 文件（{suffix}）。加载 pickle 可能执行任意代码，所以 GAN 工作室只接受 .safetensors 文件；请用 safetensors.torch.save_file 转换。",
        "models.error.suffix": "{name} 被拒绝：只能添加 .safetensors 模型文件。",
        "models.error.too_big": "{name} 被拒绝：{mb:.0f} MB 超过了 {limit} MB 的上传上限。",
        "models.error.invalid": "{name} 被拒绝：{reason}",
        "models.error.too_many": "你已经上传了 {n} 个模型，请先删除一个。",
        "models.error.not_upload": "这里只能删除你自己上传的模型。",
        "models.explain_md": r"""
**模型文件里有什么。** 生成器就是一组权重张量（训练学到的数字），再加上对其结构的描述：分辨率、通道数、潜向量维度 nz、宽度、类别。GAN 工作室把两者存进一个 **safetensors** 文件：张量是原始数字，配置以 JSON 形式放在文件头里。

**为什么只接受 safetensors。** 常见的 `.pt` / `.pkl` 文件是 Python 的 *pickle*：加载时会执行文件里存的指令，所以一个共享的检查点可以在服务器上运行任何程序。safetensors 文件只有数字和文本。在使用任何一个权重之前，文件都会被检查：文件头的大小，张量的数量、名称、形状和类型是否与配置一致，以及没有 NaN 或无穷大的权重。

**Hub 文件夹**（zip）遵循 Hugging Face 的目录结构：`model.safetensors`、`config.json`、`README.md` 模型卡和样例网格图，可以直接分享。

**模型卡**记录数据、损失函数、训练步数、训练时间和硬件，让结果可以被理解和复现。
""",
    },
}


# ---------------------------------------------------------------------------- reading a model folder


def run_config_of(model_file: Path) -> RunConfig | None:
    """The RunConfig stored in a model file's header (or config.json beside it), without loading weights."""
    try:
        _, metadata = checkpoint.inspect_safetensors(model_file, checkpoint.WEIGHT_DTYPES | {"I64"})
        if "config" in metadata:
            return RunConfig.from_json(metadata["config"], strict=False)
        return checkpoint.load_run_config(model_file.parent)
    except (CheckpointError, ConfigError):
        return None


def parameter_count(model_file: Path) -> int:
    found, _ = checkpoint.inspect_safetensors(model_file, checkpoint.WEIGHT_DTYPES | {"I64"})
    return sum(math.prod(shape) for _, shape in found.values())


def _inside(folder: Path, rel: str) -> Path | None:
    """folder/rel if it is a regular file inside folder (no .., no absolute path, no symlink), else None."""
    if "://" in rel or rel.startswith(("/", "\\")):
        return None
    p = folder / rel
    try:
        resolved = p.resolve()
        resolved.relative_to(folder.resolve())
    except (OSError, ValueError):
        return None
    return p if p.is_file() and not p.is_symlink() else None


def card_parts(folder: Path, card: Path | None) -> tuple[str, Path | None]:
    """The card's Markdown (front matter and image links removed) and its first sample image.

    Images in a card are relative links (samples/grid_0002000.png) that a page cannot show
    from Markdown; the first one is shown with gr.Image instead. Without one, the latest
    samples/grid_*.png is used.
    """
    text, image = "", None
    if card is not None and card.is_file():
        text = card.read_text(encoding="utf-8", errors="replace")[:100_000]
        if text.startswith("---"):  # Hub metadata, not for reading
            end = text.find("\n---", 3)
            text = text[end + 4 :] if end != -1 else text
        for m in MD_IMAGE_RE.finditer(text):
            found = _inside(folder, m.group(1))
            if found is not None and found.suffix.lower() in IMAGE_SUFFIXES:
                image = found
                break
        text = MD_IMAGE_RE.sub("", text).strip()
    if image is None:
        grids = grid_files(folder)
        image = grids[-1][1] if grids else None
    return text, image


def training_time(folder: Path, card_text: str) -> str | None:
    status = folder / "status.json"
    if status.is_file():
        try:
            elapsed = float(json.loads(status.read_text(encoding="utf-8"))["elapsed"])
            m, s = divmod(int(elapsed), 60)
            h, m = divmod(m, 60)
            return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"
        except (OSError, ValueError, KeyError, TypeError):
            pass
    m = TIME_ROW_RE.search(card_text)
    return m.group(1) if m else None


def summary(ctx, request, model_file: Path, card_text: str) -> str:
    cfg = run_config_of(model_file)
    if cfg is None:
        return ""
    m = cfg.model
    kind = ctx.tr(request, "models.kind.cond", k=m.num_classes) if m.num_classes else ctx.tr(request, "models.kind.uncond")
    lines = [ctx.tr(request, "models.summary", kind=kind, res=m.res, channels=m.channels, nz=m.nz,
                    params=parameter_count(model_file) / 1e6, mb=model_file.stat().st_size / 2**20)]
    if cfg.class_names:
        names = ", ".join(escape(n) for n in cfg.class_names[:20]) + (" …" if len(cfg.class_names) > 20 else "")
        lines.append(ctx.tr(request, "models.summary.classes", names=names))
    t = training_time(model_file.parent, card_text)
    if t:
        lines.append(ctx.tr(request, "models.summary.time", time=escape(t)))
    return "\n\n".join(lines)


def export_zip(folder: Path, out: Path) -> Path:
    """The model folder in the Hub layout as a zip: model, config.json, README.md, metrics, latest grids.

    The training state (optimisers, discriminator) stays out: it is for resuming, not sharing.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name in EXPORT_FILES:
            p = _inside(folder, name)
            if p is not None:
                zf.write(p, name, compress_type=zipfile.ZIP_STORED if name.endswith(".safetensors") else None)
        if _inside(folder, checkpoint.CONFIG_FILE) is None:
            cfg = run_config_of(folder / checkpoint.MODEL_FILE)
            if cfg is not None:
                zf.writestr(checkpoint.CONFIG_FILE, cfg.to_json() + "\n")
        for _, p in grid_files(folder)[-MAX_EXPORT_GRIDS:]:
            if _inside(folder, f"samples/{p.name}") is not None:
                zf.write(p, f"samples/{p.name}", compress_type=zipfile.ZIP_STORED)
    checkpoint.atomic_write_bytes(out, buf.getvalue())
    return out


# ---------------------------------------------------------------------------- handlers


def make_card(ctx):
    def model_card(client_id, model_key, request: gr.Request):
        """The card of a model: (sample image, card Markdown, summary, .safetensors path, Hub zip path, removable)."""
        client = client_id if ctx.workspace.valid(client_id) else None
        if not model_key:
            return None, "", "", None, None, gr.update(visible=False)
        try:
            entry = ctx.registry.entry(model_key, client)
        except KeyError:
            raise gr.Error(ctx.tr(request, "sample.error.unknown_model", model=escape(str(model_key))), print_exception=False) from None
        folder = entry.path.parent
        text, image = card_parts(folder, entry.card)
        if entry.key.startswith("bundled/"):  # shared by everyone: one cached zip per file version
            exports = ctx.workspace.root / "exports"
            out = exports / f"{folder.name}-{int(entry.path.stat().st_mtime)}.zip"
            zip_path = out if out.is_file() else export_zip(folder, out)
        else:
            client = require_client(ctx, client_id, request)
            zip_path = export_zip(folder, ctx.workspace.scratch(client) / f"{folder.name}.zip")
        return (
            str(image) if image else None,
            text or ctx.tr(request, "models.no_card"),
            summary(ctx, request, entry.path, text),
            str(entry.path),
            str(zip_path),
            gr.update(visible=entry.key.startswith("upload/")),
        )

    return model_card


def _refused(ctx, request, key: str, **fmt) -> gr.Error:
    return gr.Error(ctx.tr(request, key, **fmt), print_exception=False)


def make_upload(ctx):
    limits = ctx.limits

    def upload_model(client_id, file_path, request: gr.Request):
        """Validate an uploaded .safetensors generator and add it to the client's models: (status, new key)."""
        client_id = require_client(ctx, client_id, request)
        if not file_path:
            raise _refused(ctx, request, "models.error.no_file")
        src = Path(file_path)
        name = escape(src.name)
        suffix = src.suffix.lower()
        if suffix in PICKLE_SUFFIXES:  # refused by name before a byte is read; the loader also sniffs the bytes
            raise _refused(ctx, request, "models.error.pickle", name=name, suffix=escape(suffix))
        if suffix != ".safetensors":
            raise _refused(ctx, request, "models.error.suffix", name=name)
        size = src.stat().st_size
        if size > limits.max_upload_mb * 2**20:
            raise _refused(ctx, request, "models.error.too_big", name=name, mb=size / 2**20, limit=limits.max_upload_mb)
        uploads = ctx.workspace.sub(client_id, "uploads")
        existing = [d for d in uploads.iterdir() if (d / checkpoint.MODEL_FILE).is_file()]
        if len(existing) >= MAX_UPLOADED_MODELS:
            raise _refused(ctx, request, "models.error.too_many", n=len(existing))
        # validate a copy in a folder of our own (scratch/, which the model list never reads), then move it in
        incoming = ctx.workspace.scratch(client_id) / f"incoming-{secrets.token_hex(4)}"
        incoming.mkdir()
        try:
            shutil.copyfile(src, incoming / checkpoint.MODEL_FILE)
            try:
                loaded = checkpoint.load_generator(incoming / checkpoint.MODEL_FILE)
            except CheckpointError as e:
                reason = str(e).removeprefix(f"{checkpoint.MODEL_FILE}: ")
                raise _refused(ctx, request, "models.error.invalid", name=name, reason=escape(reason)) from None
            checkpoint.save_run_config(incoming, loaded.config)
            params = sum(p.numel() for p in loaded.generator.parameters())
            card = (f"# Uploaded model\n\nUploaded on {time.strftime('%Y-%m-%d %H:%M')} from the file {name}. "
                    f"It passed GAN Studio's checks: safetensors, {params:,} parameters matching its config.\n")
            checkpoint.atomic_write_text(incoming / "README.md", card)
            folder = time.strftime("model-%Y%m%d-%H%M%S-") + secrets.token_hex(2)
            os.replace(incoming, uploads / folder)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        key = f"upload/{folder}"
        label = dict((k, lab) for lab, k in ctx.registry.choices(client_id)).get(key, key)
        status = ctx.tr(request, "models.added", name=name, label=escape(label))
        return status, key

    return upload_model


def make_delete(ctx):
    def delete_model(client_id, model_key, request: gr.Request):
        client_id = require_client(ctx, client_id, request)
        if not isinstance(model_key, str) or not model_key.startswith("upload/"):
            raise _refused(ctx, request, "models.error.not_upload")
        try:
            entry = ctx.registry.entry(model_key, client_id)
        except KeyError:
            raise _refused(ctx, request, "sample.error.unknown_model", model=escape(model_key)) from None
        folder = entry.path.parent
        if folder.parent != ctx.workspace.sub(client_id, "uploads"):
            raise _refused(ctx, request, "models.error.not_upload")
        shutil.rmtree(folder, ignore_errors=True)
        return ctx.tr(request, "models.removed"), ctx.registry.default_key(client_id)

    return delete_model


# ---------------------------------------------------------------------------- layout


def build(ctx) -> None:
    registry = ctx.registry
    gr.Markdown(ctx.t("models.intro"))
    with gr.Row():
        with gr.Column(scale=2):
            model = gr.Dropdown(choices=registry.choices(None), value=registry.default_key(),
                                label=ctx.t("common.model"), allow_custom_value=True)
            summary_md = gr.Markdown()
            with gr.Row():
                dl_file = gr.DownloadButton(ctx.t("models.download_file"), value=None)
                dl_zip = gr.DownloadButton(ctx.t("models.download_zip"), value=None)
                delete = gr.Button(ctx.t("models.delete"), variant="stop", visible=False)
            card_md = gr.Markdown(elem_classes=["model-card"])
        with gr.Column(scale=1, min_width=240):
            image = gr.Image(label=ctx.t("models.card_image"), type="filepath", interactive=False)
    with gr.Accordion(ctx.t("models.upload_box"), open=True):
        with gr.Row():
            upload = gr.File(label=ctx.t("models.upload"), type="filepath", file_count="single", height=170, scale=3)
            add = gr.Button(ctx.t("models.add"), variant="primary", scale=1)
        upload_status = gr.Markdown()
        added_key = gr.Textbox(visible=False)  # the new model's key: the API's answer, then the dropdown's value
    with gr.Accordion(ctx.t("common.explain"), open=False):
        gr.Markdown(ctx.t("models.explain_md"))

    def refresh(client_id, current):
        choices = registry.choices(client_id if ctx.workspace.valid(client_id) else None)
        keys = [k for _, k in choices]
        return gr.update(choices=choices, value=current if current in keys else (keys[0] if keys else None))

    def select_added(client_id, key):
        return refresh(client_id, key)

    model_card = guarded(ctx, make_card(ctx))
    card_outputs = [image, card_md, summary_md, dl_file, dl_zip, delete]
    model.focus(refresh, [ctx.client, model], model, queue=False, api_visibility="private")
    model.change(model_card, [ctx.client, model], card_outputs, api_name="model_card", concurrency_id="models")
    # the client id arrives right after the page loads: show the selected card then
    ctx.client.change(refresh, [ctx.client, model], model, queue=False, api_visibility="private").then(
        model_card, [ctx.client, model], card_outputs, api_visibility="private", concurrency_id="models")
    upload_model = guarded(ctx, make_upload(ctx))
    # the dropdown is not an output of the checks, so a refused file does not mark it as failed
    add.click(upload_model, [ctx.client, upload], [upload_status, added_key], api_name="upload_model",
              concurrency_id="models_upload", concurrency_limit=1).success(
        select_added, [ctx.client, added_key], model, queue=False, api_visibility="private")
    delete_model = guarded(ctx, make_delete(ctx))
    delete.click(delete_model, [ctx.client, model], [upload_status, added_key], api_visibility="private").success(
        select_added, [ctx.client, added_key], model, queue=False, api_visibility="private")
