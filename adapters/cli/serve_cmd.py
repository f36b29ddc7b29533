"""`axis serve`: run the node's HTTP edge on the embedded default or configured services.

Logs go to stderr through structlog (adapters/logs): JSON lines unless stderr is a
terminal or `log_format` says otherwise (`AXIS_LOG_FORMAT=console`), uvicorn's lines
included; uvicorn's access log is replaced by the node's own (adapters/rest/access.py).
"""

from __future__ import annotations

import argparse
from typing import Any

from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the node")
    p.add_argument("--host", help="listening address (default: settings host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="listening port (default: settings port, 8080)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from adapters import logs
    from adapters.rest.app import create_app
    from axis.settings import with_overrides

    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    settings = with_overrides(settings, **overrides)
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    from adapters.node import build_node

    node = build_node(settings)
    try:
        app = create_app(settings, node)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                    **logs.uvicorn_options())
    finally:
        node.close()
    return 0
