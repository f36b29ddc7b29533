"""`axis bench …`: the benchmark of issue 9 (tools/bench), run from the source checkout.

The bench lives under tools/, which the wheel does not ship: an installed node says so
instead of failing on an import. Only the options module (argparse alone) is imported to
build the parser; the bench itself when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from axis.settings import Settings

REPO = Path(__file__).resolve().parents[2]
NOT_HERE = ("axis bench: needs the source checkout (tools/bench is not installed with the "
            "package): run `.venv/bin/axis bench` in a clone of the repository")


def _source_tree() -> bool:
    if not (REPO / "tools" / "bench" / "run.py").is_file():
        return False
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return True


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmark a node started as in production "
                       "(source checkout; docs/benchmarks.md)")
    if _source_tree():
        from tools.bench.options import add_arguments

        add_arguments(p)
    else:
        p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not _source_tree():
        print(NOT_HERE, file=sys.stderr)
        return 2
    from tools.bench import run as bench

    return bench.main(args)
