"""The `axis` command: the composition root. Settings are built here once, passed down."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from adapters.cli import (
    admin_cmd,
    agency_cmd,
    audit_cmd,
    credentials_cmd,
    demo_cmd,
    edxml_cmd,
    pki_cmd,
    registry_cmd,
    serve_cmd,
    trail_cmd,
)
from axis.errors import AxisError
from axis.settings import Settings, load_settings

# credentials_cmd joins `registry` as `axis registry credentials`: it comes after it.
COMMANDS = (serve_cmd, edxml_cmd, pki_cmd, registry_cmd, credentials_cmd, audit_cmd, trail_cmd,
            agency_cmd, admin_cmd, demo_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="axis", description="Axis: provincial document-exchange node (edXML)."
    )
    parser.add_argument("--config", help="TOML settings file (default: $AXIS_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from pathlib import Path

        settings: Settings = load_settings(Path(args.config) if args.config else None)
        code: int = args.handler(args, settings)
    except AxisError as exc:
        print(f"axis: {exc.code.id}: {exc.detail or exc.code.en}", file=sys.stderr)
        return 2 if exc.code.id == "node.config_invalid" else 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
