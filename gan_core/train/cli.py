"""`python -m gan_core train`: train on a folder, zip or built-in set; writes a run folder.

Every ModelConfig and TrainConfig field is a flag (`--lr-d 1e-4`, `--spectral-norm`), built
from the dataclasses themselves so the CLI can never fall behind the configs; values are
checked by the configs' own validation.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time
import typing
from pathlib import Path

from gan_core.cli import UserError
from gan_core.config import ConfigError, DataConfig, ModelConfig, PRESETS, TrainConfig, preset

# flags that exist on both configs: --res sets the model's and the data's resolution
_SKIP = {"res", "channels", "num_classes"}
SMALL_SET = 1000  # fine-tuning on fewer images than this turns DiffAugment on by default


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_config_flags(parser: argparse.ArgumentParser, cls: type, title: str) -> None:
    group = parser.add_argument_group(title)
    hints = typing.get_type_hints(cls)
    comments = _field_comments(cls)
    for f in dataclasses.fields(cls):
        if f.name in _SKIP or f.name.startswith("_"):
            continue
        hint = hints[f.name]
        kw: dict = {"dest": f"{cls.__name__}.{f.name}", "default": None, "help": comments.get(f.name, "")}
        if hint is bool:
            kw["action"] = argparse.BooleanOptionalAction
        else:
            kw["type"] = hint if hint in (int, float, str) else str
            kw["metavar"] = hint.__name__.upper() if hasattr(hint, "__name__") else "VALUE"
        group.add_argument(_flag(f.name), **kw)


def _field_comments(cls: type) -> dict[str, str]:
    """The `# comment` after each field in the class source: the flag's help text."""
    import inspect

    out = {}
    try:
        for line in inspect.getsource(cls).splitlines():
            line = line.strip()
            if ":" in line and "#" in line and not line.startswith(("#", "def", "class", '"')):
                name = line.split(":", 1)[0].strip()
                out[name] = line.split("#", 1)[1].strip()
    except (OSError, TypeError):
        pass
    return out


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--data", help="image folder, .zip, or builtin:emoji|digits|shapes|stacked")
    parser.add_argument("--out", help="run folder to write (default: the --resume folder, or runs/NAME)")
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS), help="starting configuration")
    parser.add_argument("--res", type=int, help="training resolution: 16, 32, 64, 128 or 256")
    parser.add_argument("--conditional", action=argparse.BooleanOptionalAction, default=None,
                        help="class-conditional on the data's class folders (default: on when there are 2+ classes)")
    parser.add_argument("--resume", metavar="DIR", help="continue the run in DIR exactly where it stopped")
    parser.add_argument("--init-from", metavar="DIR", help="fine-tune: start from this run's or bundled model's weights")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--half", action="store_true", help="store model.safetensors in float16 (half the size)")
    parser.add_argument("--dry-run", action="store_true", help="train 2 steps and exit (for CI)")
    _add_config_flags(parser, ModelConfig, "model (overrides the preset)")
    _add_config_flags(parser, TrainConfig, "training (overrides the preset)")


def _overrides(args: argparse.Namespace, cls: type) -> dict:
    prefix = cls.__name__ + "."
    return {k[len(prefix):]: v for k, v in vars(args).items() if k.startswith(prefix) and v is not None}


def load_training_data(source: str, res: int, channels: int | None = None):
    """An ImageSet and a one-line description from a path or `builtin:NAME`."""
    if source.startswith("builtin:"):
        from gan_core.data.builtin import load_builtin

        data = load_builtin(source.split(":", 1)[1], res)
        return data, data.name or source, None
    from gan_core.data.ingest import load_images

    data, report = load_images(Path(source), DataConfig(res=res))
    return data, f"{Path(source).name} ({len(data):,} images)", report


def build_configs(args: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """The preset with the command line's overrides, checked before any data is read."""
    model, train = preset(args.preset)
    try:
        model = model.replace(**_overrides(args, ModelConfig), **({"res": args.res} if args.res else {}))
        train = train.replace(**_overrides(args, TrainConfig))
    except ConfigError as e:
        raise UserError(str(e)) from None
    return model, train


def fit_model_to_data(model: ModelConfig, data, conditional: bool | None) -> ModelConfig:
    """Channels and classes come from the data: conditional by default when it has 2+ classes."""
    conditional = conditional if conditional is not None else data.num_classes > 1
    return model.replace(channels=data.channels, num_classes=data.num_classes if conditional else 0)


def run(args: argparse.Namespace, name: str) -> int:
    import torch
    from tqdm import tqdm

    from gan_core import checkpoint
    from gan_core.train.distributed import init_from_env
    from gan_core.train.finetune import load_pretrained
    from gan_core.train.run_folder import RunFolder
    from gan_core.train.trainer import Trainer

    if args.resume:
        run_cfg = checkpoint.load_run_config(args.resume)
        tensors, meta = checkpoint.load_training_state(args.resume)
        source = args.data or meta.get("data_source")
        if not source:
            raise UserError("--resume needs --data (the run does not record where its data came from)")
        data, data_name, _ = load_training_data(source, run_cfg.model.res)
        model_cfg, train_cfg = run_cfg.model, run_cfg.train.replace(**_overrides(args, TrainConfig))
        out = Path(args.out or args.resume)
    else:
        if not args.data:
            raise UserError("--data is required: an image folder, a .zip, or builtin:emoji|digits|shapes")
        model_cfg, train_cfg = build_configs(args)
        data, data_name, report = load_training_data(args.data, model_cfg.res)
        if report is not None:
            print(report.to_text(), file=sys.stderr)
        if args.init_from:  # fine-tuning: the architecture is the pretrained model's
            from gan_core.checkpoint import load_run_config, resolve_model_file

            source = load_run_config(resolve_model_file(args.init_from).parent).model
            if source.res != model_cfg.res:
                data, data_name, report = load_training_data(args.data, source.res)
            model_cfg = source
            if len(data) < SMALL_SET and not _overrides(args, TrainConfig).get("diffaug"):
                train_cfg = train_cfg.replace(diffaug="color,translation,cutout")  # small sets need it
        model_cfg = fit_model_to_data(model_cfg, data, args.conditional)
        out = Path(args.out or Path("runs") / time.strftime("run-%Y%m%d-%H%M%S"))
        source = args.data

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dist = init_from_env(dict(os.environ), device.type)
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    if device.type == "cuda" and "OMP_NUM_THREADS" not in os.environ:
        # The CPU only feeds the GPU here; a full-width OpenMP pool per process made two runs
        # sharing an H100's 16 cores 2.8x slower each (3 vs 8.5 steps/s) than 2 threads apiece.
        torch.set_num_threads(min(torch.get_num_threads(), 2))
    steps = 2 if args.dry_run else train_cfg.steps
    command = "python -m gan_core train " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["train"] else sys.argv[1:])
    folder = RunFolder(out, command=command, data_name=data_name, half=args.half)
    trainer = Trainer(model_cfg, train_cfg, data, device=device, callbacks=[folder], dist=dist)
    trainer.data_source = str(source)
    if args.resume:
        trainer.restore(tensors, meta)
    elif args.init_from:
        report = load_pretrained(trainer, args.init_from)
        print(report.to_text(), file=sys.stderr)

    if dist.is_main:
        print(f"training {model_cfg.res}px {'conditional ' if model_cfg.conditional else ''}GAN on "
              f"{data_name}, {steps:,} steps, precision {trainer.amp_dtype or 'fp32'}, device {device} -> {out}",
              file=sys.stderr)
    bar = tqdm(total=steps, initial=trainer.step, disable=not dist.is_main or None, unit="step", dynamic_ncols=True)
    last = None
    try:
        for m in trainer.run(steps=steps):
            last = m
            bar.update(1)
            if trainer.step % 10 == 0 or "event" in m:
                bar.set_postfix(loss_d=f"{m['loss_d']:.3f}", loss_g=f"{m['loss_g']:.3f}",
                                ips=f"{m['images_per_s']:.0f}")
    finally:
        bar.close()
    if dist.enabled:
        from gan_core.train.distributed import ranks_agree

        agree = ranks_agree(trainer.G) and ranks_agree(trainer.D)
        torch.distributed.destroy_process_group()
        if dist.is_main:
            print(f"{dist.world_size} ranks {'agree' if agree else 'DISAGREE'} on G and D weights")
        if not agree:
            return 1
    if dist.is_main:
        ips = last["images_per_s"] if last else 0.0
        print(f"done: {trainer.step:,} steps, {ips:.1f} images/s, {trainer.elapsed:.1f} s of training -> {out}")
    return 0
