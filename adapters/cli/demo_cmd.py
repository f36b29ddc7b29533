"""`axis demo`: the whole exchange between simulated Lạng Sơn agencies, in one command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run a scripted exchange between simulated agencies")
    p.add_argument("--dir", help="keep the demo node, its test CA and keys here "
                   "(default: a temporary directory, removed at the end)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.demo import run as run_demo

    return run_demo(Path(args.dir) if args.dir else None)
