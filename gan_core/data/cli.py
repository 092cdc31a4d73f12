"""`python -m gan_core inspect PATH [--res 64] [--json]`: check an image set, print its report.

Exit status 0 when the set is usable. Otherwise the dispatcher prints "error: <what was
wrong and what to do>" and exits 1; with --json the partial report (what was skipped and
why) is still printed on stdout, with "usable": false and the "error" message.
"""

from __future__ import annotations

import argparse
import json

from gan_core.config import RESOLUTIONS, DataConfig
from gan_core.errors import DatasetError


def add_arguments(parser: argparse.ArgumentParser, command_name: str = "inspect") -> None:
    parser.add_argument("path", nargs="+", help="a folder, a .zip, or image files (a list of files is one set)")
    parser.add_argument("--res", type=int, default=64, choices=RESOLUTIONS, help="training resolution in px")
    parser.add_argument("--fit", default="crop", choices=("crop", "pad"), help="centre crop or pad to a square")
    parser.add_argument("--max-images", type=int, default=DataConfig.max_images, help="use at most this many images")
    parser.add_argument("--workers", type=int, default=None, help="decoding threads (default: all cores, at most 8)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


def run(args: argparse.Namespace, command_name: str = "inspect") -> int:
    from gan_core.data.ingest import load_images  # imported here: `--help` stays instant

    cfg = DataConfig(res=args.res, fit=args.fit, max_images=args.max_images)
    source = args.path[0] if len(args.path) == 1 else list(args.path)
    try:
        _, report = load_images(source, cfg, workers=args.workers)
    except DatasetError as e:
        partial = getattr(e, "report", None)
        if args.json:
            d = partial.to_dict() if partial is not None else {"images_used": 0, "classes": {}, "skipped": {}}
            print(json.dumps({**d, "usable": False, "error": str(e)}, indent=2, ensure_ascii=False))
        elif partial is not None and partial.skipped:
            print(partial.to_text())
        raise
    print(report.to_json() if args.json else report.to_text())
    return 0
