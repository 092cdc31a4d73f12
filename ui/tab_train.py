"""Train tab: upload or pick a data set, see its report, train live, stop, resume, download."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from gan_core.config import ConfigError, ModelConfig, PRESETS, TrainConfig, preset
from gan_core.device import default_device
from gan_core.errors import DatasetError
from gan_core.video import grid_files
from ui import run_view
from ui.common import escape, guarded, require_client
from ui.train_strings import STRINGS  # noqa: F401  (the app merges every tab's STRINGS)

# UI presets: label key -> (config preset, resolution)
UI_PRESETS = {
    "train.preset.quick": ("quick", 32),
    "train.preset.cpu64": ("cpu64", 64),
    "train.preset.gpu64": ("quality", 64),
    "train.preset.gpu128": ("quality", 128),
    "train.preset.dcgan": ("dcgan", 64),
}
BUILTIN = ("emoji", "digits", "shapes")
DIFFAUG = ("color", "translation", "cutout")
APP_INTERVALS = dict(sample_every=25, ckpt_every=250, log_every=5, n_fixed=64)
SMALL_SET = 1000  # below this many images DiffAugment is switched on for fine-tuning
# The curves of the training plots (run_view.long_table series names) and their colours.
LOSS_SERIES = {"loss_d": "D", "loss_g": "G"}
PROB_SERIES = {"d_real": "D(x)", "d_fake": "D(G(z))"}
GRAD_SERIES = {"grad_norm_d": "|grad D|", "grad_norm_g": "|grad G|"}
D_COLOUR, G_COLOUR = "#3b75af", "#ef8636"  # blue, orange: the plot labels say so
SERIES_COLOURS = {name: colour for series in (LOSS_SERIES, PROB_SERIES, GRAD_SERIES)
                  for name, colour in zip(series.values(), (D_COLOUR, G_COLOUR))}


# ------------------------------------------------------------------------ data


def ingest(ctx, client: str, files: list[str] | None, builtin: str | None, res: int, fit: str):
    """Read an upload or a built-in set; returns (ImageSet, report text, source description)."""
    from gan_core.config import DataConfig
    from gan_core.data.ingest import load_images

    if files:
        total = sum(Path(f).stat().st_size for f in files)
        limit = ctx.limits.max_upload_mb * 2**20
        if total > limit:
            raise DatasetError(f"the upload is {total / 2**20:.0f} MB; the limit is {ctx.limits.max_upload_mb} MB")
        cfg = DataConfig(res=res, fit=fit, max_images=ctx.limits.max_images)
        source = [(Path(f), Path(f).name) for f in files]
        source = source[0][0] if len(source) == 1 and source[0][1].lower().endswith(".zip") else source
        data, report = load_images(source, cfg)
        return data, report.to_text(max_listed=30), {"files": list(files), "fit": fit}
    if builtin:
        from gan_core.data.builtin import load_builtin

        data = load_builtin(builtin, res)
        counts = np.bincount(data.labels, minlength=data.num_classes)
        text = f"Dataset: {data.name}\n  images used: {len(data):,}\n  classes ({data.num_classes}): " + ", ".join(
            f"{n}: {c}" for n, c in zip(data.class_names, counts))
        return data, text, {"builtin": builtin}
    raise DatasetError("upload a zip or images, or pick a built-in example set")


def preview_grid(data, n: int = 64) -> np.ndarray:
    from gan_core.train.run_folder import grid_image
    import torch

    idx = np.linspace(0, len(data) - 1, min(n, len(data))).astype(int)
    x = torch.from_numpy(data.images[idx]).float() / 127.5 - 1
    return grid_image(x)


# ------------------------------------------------------------------------ configs


def make_configs(preset_key: str, data_channels: int, data_classes: int, values: dict[str, Any],
                 finetune_cfg: ModelConfig | None) -> tuple[ModelConfig, TrainConfig]:
    name, res = UI_PRESETS[preset_key]
    model, train = preset(name)
    model_over = {k: values[k] for k in ("nz", "ngf", "ndf", "d_norm", "spectral_norm", "d_dropout", "mbstd",
                                         "minibatch_disc") if k in values}
    model = model.replace(res=res, **model_over)
    if finetune_cfg is not None:  # the architecture is the pretrained model's
        model = finetune_cfg.replace(d_dropout=model.d_dropout)
    classes = data_classes if values.get("conditional") and data_classes > 1 else 0
    model = model.replace(channels=data_channels, num_classes=classes)
    train_over = {k: values[k] for k in ("loss", "penalty", "penalty_weight", "feature_matching", "aux_d", "hflip", "ema",
                                         "lr_g", "lr_d", "beta1", "beta2", "batch_size", "d_steps", "weight_decay",
                                         "schedule", "label_smoothing", "precision", "freeze_d", "steps", "minutes",
                                         "seed") if k in values}
    for k in ("batch_size", "d_steps", "freeze_d", "steps", "seed"):  # gr.Number gives floats
        if k in train_over and train_over[k] is not None:
            if float(train_over[k]) != int(train_over[k]):
                raise ValueError(f"{k} must be a whole number")
            train_over[k] = int(train_over[k])
    train_over["diffaug"] = ",".join(a for a in DIFFAUG if a in (values.get("diffaug") or []))
    train = train.replace(**train_over, **APP_INTERVALS)
    return model, train


# ------------------------------------------------------------------------ layout


def build(ctx) -> None:
    t = ctx.t
    data_state = gr.State(None)  # {"npz", "res", "source", "channels", "classes", "n", "name"}

    with gr.Accordion(t("common.explain"), open=False):
        gr.Markdown(t("train.explain"), latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                          {"left": "$", "right": "$", "display": False}])
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown(t("train.data.title"))
            files = gr.File(label=t("train.data.upload"), file_count="multiple",
                            file_types=[".zip", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"])
            builtin = gr.Dropdown([("-", "")] + [(b, b) for b in BUILTIN], value="", label=t("train.data.builtin"))
            fit = gr.Radio([(t("train.data.crop"), "crop"), (t("train.data.pad"), "pad")], value="crop",
                           label=t("train.data.fit"))
            check = gr.Button(t("train.data.check"), variant="secondary")
        with gr.Column(scale=1):
            report = gr.Textbox(label=t("train.data.report"), lines=12, max_lines=24, interactive=False)
            preview = gr.Image(label=t("train.data.preview"), interactive=False, height=260)

    with gr.Row():
        preset_dd = gr.Dropdown([(t(k), k) for k in UI_PRESETS], value="train.preset.quick", label=t("train.preset"))
        steps = gr.Number(2000, label=t("train.steps"), precision=0)
        minutes = gr.Number(10, label=t("train.minutes"))
        seed = gr.Number(0, label=t("common.seed"), precision=0)

    adv: dict[str, gr.components.Component] = {}
    with gr.Accordion(t("train.advanced"), open=False):
        with gr.Row():
            adv["loss"] = gr.Dropdown([(t(f"train.loss.{k}"), k) for k in ("ns", "minimax", "lsgan", "wgan", "hinge")],
                                      label=t("train.loss"))
            adv["penalty"] = gr.Dropdown([(t(f"train.penalty.{k}"), k) for k in ("none", "wgan-gp", "zero-gp", "r1")],
                                         label=t("train.penalty"))
            adv["penalty_weight"] = gr.Number(label=t("train.penalty_weight"))
            adv["feature_matching"] = gr.Number(label=t("train.feature_matching"))
            adv["aux_d"] = gr.Number(label=t("train.aux_d"))
        with gr.Row():
            adv["spectral_norm"] = gr.Checkbox(label=t("train.spectral_norm"))
            adv["d_norm"] = gr.Radio([("BatchNorm", "bn"), (t("train.none"), "none")], label=t("train.d_norm"))
            adv["d_dropout"] = gr.Slider(0, 0.9, step=0.05, label=t("train.d_dropout"))
            adv["mbstd"] = gr.Checkbox(label=t("train.mbstd"))
            adv["minibatch_disc"] = gr.Number(label=t("train.minibatch_disc"), precision=0)
        with gr.Row():
            adv["diffaug"] = gr.CheckboxGroup([(t(f"train.aug.{a}"), a) for a in DIFFAUG], label=t("train.diffaug"))
            adv["hflip"] = gr.Checkbox(label=t("train.hflip"))
            adv["ema"] = gr.Number(label=t("train.ema"))
            adv["conditional"] = gr.Checkbox(True, label=t("train.conditional"))
        with gr.Row():
            adv["lr_g"] = gr.Number(label=t("train.lr_g"))
            adv["lr_d"] = gr.Number(label=t("train.lr_d"))
            adv["beta1"] = gr.Number(label=t("train.beta1"))
            adv["beta2"] = gr.Number(label=t("train.beta2"))
            adv["weight_decay"] = gr.Number(label=t("train.weight_decay"))
        with gr.Row():
            adv["batch_size"] = gr.Number(label=t("train.batch_size"), precision=0)
            adv["d_steps"] = gr.Number(label=t("train.d_steps"), precision=0)
            adv["schedule"] = gr.Dropdown(["constant", "linear", "cosine"], label=t("train.schedule"))
            adv["label_smoothing"] = gr.Slider(0, 0.5, step=0.05, label=t("train.label_smoothing"))
            adv["precision"] = gr.Radio(["auto", "fp32", "bf16"], label=t("train.precision"))
        with gr.Row():
            adv["nz"] = gr.Number(label=t("train.nz"), precision=0)
            adv["ngf"] = gr.Number(label=t("train.ngf"), precision=0)
            adv["ndf"] = gr.Number(label=t("train.ndf"), precision=0)
            adv["finetune"] = gr.Dropdown([("-", "")], value="", label=t("train.finetune"))
            adv["freeze_d"] = gr.Slider(0, 4, step=1, value=0, label=t("train.freeze_d"))

    with gr.Row():
        start = gr.Button(t("train.start"), variant="primary")
        stop = gr.Button(t("train.stop"), variant="stop")
        resume = gr.Button(t("train.resume"))
    status = gr.Markdown(t("train.status.idle"))
    alerts = gr.Markdown("")
    # Gradio cuts off the legend of a plot with a fixed height, so each plot's label names the
    # colours instead: D's curve is blue, G's orange (SERIES_COLOURS), and the legend is off.
    line = dict(x="step", y="value", color="series", y_title=" ", colors_in_legend=[], color_map=SERIES_COLOURS)
    with gr.Row():
        grid = gr.Image(label=t("train.grid"), interactive=False, height=360, elem_id="train-grid")
        with gr.Column():
            loss_plot = gr.LinePlot(run_view.long_table([], LOSS_SERIES), label=t("train.plot.losses"), height=170,
                                    **line)
            prob_plot = gr.LinePlot(run_view.long_table([], PROB_SERIES), label=t("train.plot.probs"), height=170,
                                    y_lim=[0, 1], **line)
    with gr.Row():
        grad_plot = gr.LinePlot(run_view.long_table([], GRAD_SERIES), label=t("train.plot.grads"), height=200, **line)
        with gr.Column():
            layer = gr.Dropdown([], label=t("train.hist.layer"))
            hist_plot = gr.BarPlot(x="weight", y="count", label=t("train.hist"), height=170)
    with gr.Row():
        download = gr.Button(t("train.download"))
        timelapse = gr.Button(t("train.timelapse"))
    downloads = gr.File(label=t("train.downloads"), file_count="multiple", interactive=False)
    timer = gr.Timer(2.0, active=False)

    adv_order = list(adv)
    adv_components = [adv[k] for k in adv_order]

    # -------------------------------------------------------------- handlers

    def apply_preset(preset_key):
        name, _ = UI_PRESETS[preset_key]
        m, tr = PRESETS[name]
        model, train = ModelConfig.from_dict(dict(m)), TrainConfig.from_dict(dict(tr))
        values = {**model.to_dict(), **train.to_dict()}
        values["diffaug"] = [a for a in train.diffaug.split(",") if a]
        out = []
        for k in adv_order:
            out.append(gr.update(value=values[k]) if k in values else gr.update())
        return out

    def refresh_finetune(client_id):
        choices = [("-", "")] + [(e.label, e.key) for e in ctx.registry.bundled()]
        return gr.update(choices=choices)

    def check_data(client_id, files, builtin_name, fit_mode, preset_key, request: gr.Request):
        client = require_client(ctx, client_id, request)
        _, res = UI_PRESETS[preset_key]
        try:
            data, text, source = ingest(ctx, client, files, builtin_name, res, fit_mode)
        except DatasetError as e:
            detail = getattr(e, "report", None)
            msg = ctx.tr(request, "train.data.unusable", detail=str(e))
            if detail is not None:
                return None, msg + "\n\n" + detail.to_text(max_listed=30), None
            raise gr.Error(msg, print_exception=False) from None
        npz = ctx.workspace.sub(client, "data") / "current.npz"
        data.save_npz(npz)
        state = {"npz": str(npz), "res": res, "source": source, "channels": data.channels,
                 "classes": data.num_classes, "n": len(data), "name": data.name}
        return state, text, preview_grid(data)

    def start_run(client_id, state, preset_key, steps_v, minutes_v, seed_v, adv_values, request: gr.Request,
                  resume_run: bool = False):
        client = require_client(ctx, client_id, request)
        if resume_run:
            job = ctx.jobs.job(client)
            run_dir = Path(job.run_dir) if job else _latest_run(ctx, client)
            if run_dir is None or not (run_dir / "training_state.safetensors").is_file():
                raise gr.Error(ctx.tr(request, "train.error.nothing_to_resume"), print_exception=False)
            spec = dict(_read_spec(run_dir), resume=True)
            done = run_view.read_status(run_dir).get("step", 0)
            if done >= spec["train"]["steps"]:  # the run had finished: train `steps` more
                spec["train"] = dict(spec["train"], steps=done + max(int(steps_v or 0), 1))
            _write_spec(run_dir, spec)
        else:
            if not state:
                raise gr.Error(ctx.tr(request, "train.error.no_data"), print_exception=False)
            _, res = UI_PRESETS[preset_key]
            values = {**{k: adv_values[c] for k, c in zip(adv_order, adv_components)},
                      "steps": steps_v, "minutes": min(float(minutes_v or 0), ctx.limits.max_train_minutes) or ctx.limits.max_train_minutes,
                      "seed": seed_v}
            finetune_cfg = None
            if values.get("finetune"):
                finetune_cfg = ctx.registry.load(values["finetune"], client).config.model
                res = finetune_cfg.res
                if state["n"] < SMALL_SET and not values.get("diffaug"):
                    values["diffaug"] = ["color", "translation", "cutout"]
            if state["res"] != res:  # the preset changed since the check: read the data again
                state = check_data(client, state["source"].get("files"), state["source"].get("builtin"),
                                   state["source"].get("fit", "crop"),
                                   next(k for k, v in UI_PRESETS.items() if v[1] == res), request)[0]
            try:
                model, train = make_configs(preset_key, state["channels"], state["classes"], values, finetune_cfg)
            except ConfigError as e:
                raise gr.Error(config_message(ctx, request, e), print_exception=False) from None
            if finetune_cfg is not None:
                model = model.replace(res=finetune_cfg.res)
            run_dir = ctx.workspace.new_run_dir(client)
            run_dir.mkdir(parents=True)
            shutil.copyfile(state["npz"], run_dir / "data.npz")
            spec = {"data": str(run_dir / "data.npz"), "model": model.to_dict(), "train": train.to_dict(),
                    "data_name": state["name"], "threads": 2, "device": str(default_device()),
                    "init_from": str(ctx.registry.entry(values["finetune"], client).path) if values.get("finetune") else "",
                    "command": "trained in the GAN Studio app"}
            _write_spec(run_dir, spec)
        from ui.jobs import JobError

        try:
            ctx.jobs.submit(client, run_dir, spec)
        except JobError as e:
            raise gr.Error(ctx.tr(request, e.key, **e.fmt), print_exception=False) from None
        return gr.Timer(active=True), ctx.tr(request, "train.status.submitted")

    def start_handler(values: dict, request: gr.Request):
        """`values` maps each input component to its value (gradio passes a dict for set inputs)."""
        return start_run(values[ctx.client], values[data_state], values[preset_dd], values[steps],
                         values[minutes], values[seed], values, request)

    def resume_handler(client_id, steps_v, request: gr.Request):
        return start_run(client_id, None, None, steps_v, None, None, {}, request, resume_run=True)

    def stop_handler(client_id, request: gr.Request):
        client = require_client(ctx, client_id, request)
        stopped = ctx.jobs.stop(client)
        return ctx.tr(request, "train.status.stopping" if stopped else "train.status.nothing")

    def tick(client_id, layer_key, request: gr.Request):
        if not ctx.workspace.valid(client_id):
            return [gr.Timer(active=False)] + [gr.update()] * 9
        view = view_of(ctx, client_id, layer_key, request)
        active = view["active"]
        return [gr.Timer(active=active), view["status"], view["alerts"], view["grid"], view["losses"],
                view["probs"], view["grads"], gr.update(choices=view["layers"], value=view["layer"]),
                view["hist"], gr.update()]

    def on_load(client_id, request: gr.Request):
        if not ctx.workspace.valid(client_id):
            return gr.Timer(active=False)
        job = ctx.jobs.job(client_id)
        has_run = job is not None or _latest_run(ctx, client_id) is not None
        return gr.Timer(active=has_run)

    def download_handler(client_id, request: gr.Request):
        client = require_client(ctx, client_id, request)
        run_dir = _current_run(ctx, client)
        if run_dir is None:
            raise gr.Error(ctx.tr(request, "train.error.no_run"), print_exception=False)
        if not (run_dir / "model.safetensors").is_file():
            raise gr.Error(ctx.tr(request, "train.error.no_model_yet"), print_exception=False)
        out = ctx.workspace.scratch(client)
        zpath = out / f"{run_dir.name}.zip"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            for name in ("model.safetensors", "config.json", "README.md", "metrics.jsonl", "signals.jsonl",
                         "training_state.safetensors", "neighbours.png"):
                if (run_dir / name).is_file():
                    z.write(run_dir / name, f"{run_dir.name}/{name}")
            for _, g in grid_files(run_dir):
                z.write(g, f"{run_dir.name}/samples/{g.name}")
        single = out / f"{run_dir.name}.safetensors"
        shutil.copyfile(run_dir / "model.safetensors", single)
        return [str(zpath), str(single)]

    def timelapse_handler(client_id, request: gr.Request):
        from gan_core.video import timelapse as render_timelapse

        client = require_client(ctx, client_id, request)
        run_dir = _current_run(ctx, client)
        if run_dir is None:
            raise gr.Error(ctx.tr(request, "train.error.no_run"), print_exception=False)
        if run_view.latest_grid(run_dir) is None:
            raise gr.Error(ctx.tr(request, "train.error.no_model_yet"), print_exception=False)
        out = ctx.workspace.scratch(client) / f"{run_dir.name}-timelapse.mp4"
        render_timelapse(run_dir, out, fps=8)
        return [str(out)]

    # -------------------------------------------------------------- wiring

    preset_dd.change(apply_preset, [preset_dd], adv_components, api_visibility="private")
    adv["finetune"].focus(refresh_finetune, [ctx.client], [adv["finetune"]], api_visibility="private")
    check.click(guarded(ctx, check_data), [ctx.client, files, builtin, fit, preset_dd], [data_state, report, preview],
                api_name="check_data")
    start.click(guarded(ctx, start_handler), {ctx.client, data_state, preset_dd, steps, minutes, seed, *adv_components},
                [timer, status], api_name="start_training")
    resume.click(guarded(ctx, resume_handler), [ctx.client, steps], [timer, status], api_name="resume_training")
    stop.click(guarded(ctx, stop_handler), [ctx.client], [status], api_name="stop_training")
    tick_outputs = [timer, status, alerts, grid, loss_plot, prob_plot, grad_plot, layer, hist_plot, downloads]
    timer.tick(guarded(ctx, tick), [ctx.client, layer], tick_outputs, api_name="train_status",
               show_progress="hidden", trigger_mode="always_last")
    layer.change(guarded(ctx, tick), [ctx.client, layer], tick_outputs, api_visibility="private", show_progress="hidden")
    download.click(guarded(ctx, download_handler), [ctx.client], [downloads], api_name="download_model")
    timelapse.click(guarded(ctx, timelapse_handler), [ctx.client], [downloads], api_name="timelapse")
    # on page load (and when the client id arrives): follow this browser's run, if it has one
    gr.on(None, on_load, [ctx.client], [timer], api_visibility="private")
    for comp, upd in zip(adv_components, apply_preset(preset_dd.value)):  # the default preset's values
        if isinstance(upd, dict) and "value" in upd:
            comp.value = upd["value"]


# ------------------------------------------------------------------------ views


def _spec_path(run_dir: Path) -> Path:
    return Path(run_dir) / "spec.json"


def _write_spec(run_dir: Path, spec: dict) -> None:
    import json

    from gan_core.checkpoint import atomic_write_text

    atomic_write_text(_spec_path(run_dir), json.dumps(spec))


def _read_spec(run_dir: Path) -> dict:
    import json

    return json.loads(_spec_path(run_dir).read_text())


def _latest_run(ctx, client: str) -> Path | None:
    runs = ctx.workspace.client_dir(client, create=False) / "runs"
    if not runs.is_dir():
        return None
    dirs = sorted((d for d in runs.iterdir() if _spec_path(d).is_file()), key=lambda d: d.name)
    return dirs[-1] if dirs else None


def _current_run(ctx, client: str) -> Path | None:
    job = ctx.jobs.job(client)
    return Path(job.run_dir) if job is not None else _latest_run(ctx, client)


def view_of(ctx, client: str, layer_key: str | None, request) -> dict[str, Any]:
    """Everything the tab shows about the client's current run."""
    job_status = ctx.jobs.status(client)
    run_dir = _current_run(ctx, client)
    empty = {"active": False, "status": ctx.tr(request, "train.status.idle"), "alerts": "", "grid": None,
             "losses": run_view.long_table([], LOSS_SERIES), "probs": run_view.long_table([], PROB_SERIES),
             "grads": run_view.long_table([], GRAD_SERIES), "layers": [], "layer": None, "hist": None}
    if run_dir is None:
        return empty
    folder = run_view.read_status(run_dir)
    rows = run_view.read_metrics(run_dir)
    state = job_status.get("state", "none")
    if state == "none":  # the server restarted, or another process ran it: the folder tells
        state = folder.get("state", "stopped")
        state = "stopped" if state == "running" else state
    last = next((r for r in reversed(rows) if "event" not in r), None)
    steps_total = folder.get("steps") or _read_spec(run_dir)["train"]["steps"]
    if state == "queued":
        text = ctx.tr(request, "train.status.queued", position=job_status["position"])
    elif state in ("running", "stopping") and last:
        text = ctx.tr(request, f"train.status.{state}_step", step=last["step"], steps=steps_total,
                      ips=last["images_per_s"], eta=_fmt_eta(last.get("eta", 0)))
    elif state in ("running", "stopping"):
        text = ctx.tr(request, "train.status.starting")
    elif state == "error":
        text = ctx.tr(request, "train.status.error", message=escape(job_status.get("message") or folder.get("message", "")))
    else:
        text = ctx.tr(request, f"train.status.{state}", step=folder.get("step", last["step"] if last else 0),
                      elapsed=_fmt_eta(folder.get("elapsed", 0)))
    alerts = alert_markdown(ctx, request, run_dir, rows, _read_spec(run_dir)["train"]["loss"])
    if state == "finished" and last:
        alerts = ctx.tr(request, "train.summary", step=last["step"], ips=last["images_per_s"],
                        d_real=last["d_real"], d_fake=last["d_fake"], elapsed=_fmt_eta(folder.get("elapsed", 0))) \
            + ("\n\n" + alerts if alerts else "")
    weights = run_view.read_weights(run_dir)
    layers = run_view.layer_keys(weights)
    layer = layer_key if layer_key in layers else (layers[0] if layers else None)
    grid_path = run_view.latest_grid(run_dir)
    return {
        "active": state in ("queued", "running", "stopping"),
        "status": text,
        "alerts": alerts,
        "grid": str(grid_path) if grid_path else None,
        "losses": run_view.long_table(rows, LOSS_SERIES),
        "probs": run_view.long_table(rows, PROB_SERIES),
        "grads": run_view.long_table(rows, GRAD_SERIES),
        "layers": layers,
        "layer": layer,
        "hist": run_view.histogram_table(weights, layer),
    }


def config_message(ctx, request, e: ConfigError) -> str:
    """A config error said with the form's label for the field ("Steps: -5 must be from 1 to ...")."""
    key = "common.seed" if e.field == "seed" else f"train.{e.field}"
    label = ctx.tr(request, key) if key in STRINGS["en"] or key == "common.seed" else (e.field or "")
    if e.bounds is not None:
        return ctx.tr(request, "common.error.range", field=label, value=e.value, lo=e.bounds[0], hi=e.bounds[1])
    return f"{label}: {str(e).split(': ', 1)[-1]}" if label else str(e)


def alert_markdown(ctx, request, run_dir: Path, rows: list[dict], loss: str) -> str:
    """Diagnosis of the run as Markdown in the browser's language, most serious first."""
    from gan_core.diagnose import diagnose

    lines = []
    for a in diagnose(rows, run_view.read_signals(run_dir), loss):
        lines.append(ctx.tr(request, f"train.alert.{a.kind}", **a.values))
        pairs = Path(run_dir) / "neighbours.png"
        if a.kind == "memorisation" and pairs.is_file():  # served from the workspace (an allowed path)
            lines.append(ctx.tr(request, "train.alert.neighbours", url=f"/gradio_api/file={pairs}"))
    return "\n\n".join(lines)


def _fmt_eta(seconds: float) -> str:
    seconds = int(max(seconds or 0, 0))
    m, s = divmod(seconds, 60)
    return f"{m}:{s:02d}"
