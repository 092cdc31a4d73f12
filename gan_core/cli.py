"""`python -m gan_core COMMAND ...`: one entry point, one module per command.

Each command module defines `add_arguments(parser)` and `run(args) -> int`. Modules are
imported only when their command runs, so `--help` is instant. Errors that users can cause
(bad paths, bad data, bad configs) surface as one clear line and a non-zero exit status,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("gan_core.data.cli", "check an image folder, file list or zip and print its report"),
    "train": ("gan_core.train.cli", "train a GAN on images; writes a run folder"),
    "sample": ("gan_core.sample_cli", "sample a grid of images from a checkpoint"),
    "video": ("gan_core.video_cli", "render a latent-walk MP4 or GIF from a checkpoint"),
    "timelapse": ("gan_core.video_cli", "render a run's fixed-z grids as a timelapse video"),
    "project": ("gan_core.video_cli", "find the latent of a real image (projection)"),
    "toy": ("gan_core.toy.cli", "train a GAN on a 2D toy distribution and report mode coverage"),
    "export": ("gan_core.train.export", "export a run as a small shareable model folder (Hub layout)"),
    "build": ("gan_core.data.builtin_cli", "build a built-in example dataset (emoji, digits, shapes, stacked)"),
}


class UserError(Exception):
    """An error the user can fix; printed as one line without a traceback."""


def build_parser(argv_command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_core", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == argv_command:  # only import the module of the command being run
            _module(module).add_arguments(p, name)
    return parser


def _module(path: str):
    return importlib.import_module(path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from gan_core.errors import GanStudioError

    try:
        return int(_module(COMMANDS[args.command][0]).run(args, args.command) or 0)
    except (UserError, GanStudioError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
