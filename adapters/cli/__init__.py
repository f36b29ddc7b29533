"""The `axis` command: the composition root. Settings are built here once, passed down."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from importlib import metadata

from adapters.cli import (
    admin_cmd,
    agency_cmd,
    audit_cmd,
    bench_cmd,
    calendar_cmd,
    credentials_cmd,
    db_cmd,
    demo_cmd,
    edxml_cmd,
    peer_cmd,
    pki_cmd,
    registry_cmd,
    serve_cmd,
    tasks_cmd,
    trail_cmd,
    worker_cmd,
)
from axis.errors import AxisError
from axis.settings import Settings, load_settings

# credentials_cmd joins `registry` as `axis registry credentials`: it comes after it.
COMMANDS = (serve_cmd, worker_cmd, edxml_cmd, pki_cmd, registry_cmd, credentials_cmd,
            audit_cmd, trail_cmd, agency_cmd, admin_cmd, demo_cmd, bench_cmd, db_cmd,
            peer_cmd, calendar_cmd, tasks_cmd)


_OPERATOR_ACTION = frozenset({"node.config_invalid", "node.schema_outdated"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="axis", description="Axis: provincial document-exchange node (edXML)."
    )
    parser.add_argument("--config", help="TOML settings file (default: $AXIS_CONFIG)")
    parser.add_argument("--version", action="version", version=f"axis {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def _version() -> str:
    """The installed distribution's version (pyproject.toml), not a copy kept in code."""
    try:
        return metadata.version("axis-node")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        try:
            return _main(argv)
        finally:
            # A closed pipe surfaces here, not in the interpreter's exit; also after
            # argparse's --help/--version, which end in SystemExit.
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`axis … | head`): stop quietly as Unix tools do on SIGPIPE.
        # Standard output is pointed at /dev/null so the final flush at exit cannot fail
        # again and print "Exception ignored … BrokenPipeError".
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 128 + signal.SIGPIPE


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from pathlib import Path

        settings: Settings = load_settings(Path(args.config) if args.config else None)
        code: int = args.handler(args, settings)
    except AxisError as exc:
        print(f"axis: {exc.code.id}: {exc.detail or exc.code.en}", file=sys.stderr)
        # 2: the operator must act (configuration, schema); 1 stays the command's own
        # "no" (a broken journal, an unknown document), which monitoring alerts on.
        return 2 if exc.code.id in _OPERATOR_ACTION else 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
