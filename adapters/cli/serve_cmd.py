"""`axis serve`: run the node's HTTP edge on the embedded default or configured services.

With no flags, one process does everything, as `make run` expects: HTTP, the delivery
and push loops, and the scheduled jobs. In production (docs/deployment.md) the loops run
in `axis worker` processes and `axis serve --no-background --workers N` answers HTTP with
N uvicorn worker processes on one port, each with a node of its own on the same database
and broker (adapters/rest/app.py, `from_environment`).

Logs go to stderr through structlog (adapters/logs): JSON lines unless stderr is a
terminal or `log_format` says otherwise (`AXIS_LOG_FORMAT=console`), uvicorn's lines
included; uvicorn's access log is replaced by the node's own (adapters/rest/access.py).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the node (HTTP; with its loops and jobs unless "
                                     "--no-background)")
    p.add_argument("--host", help="listening address (default: settings host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="listening port (default: settings port, 8080)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="HTTP processes on the one port (default 1)")
    p.add_argument("--no-background", action="store_true",
                   help="HTTP only: leave delivery, push and the node's jobs to `axis "
                        "worker` processes (CRL refresh still runs here)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from adapters import logs
    from axis.settings import with_overrides

    if args.workers < 1:
        raise SystemExit("axis serve: --workers must be at least 1")
    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    settings = with_overrides(settings, **overrides)
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    role = "http" if args.no_background else "all"
    if args.workers > 1:
        return _prefork(args, settings, role)
    from adapters.node import build_node
    from adapters.rest.app import create_app

    node = build_node(settings)
    try:
        app = create_app(settings, node, role=role)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                    **logs.uvicorn_options())
    finally:
        node.close()
    return 0


def _prefork(args: argparse.Namespace, settings: Settings, role: str) -> int:
    """N uvicorn worker processes; uvicorn's parent binds the port, restarts a worker that
    dies and forwards SIGTERM. Each worker builds its node from the same settings, read
    again from the environment and AXIS_CONFIG (only --host/--port are the parent's)."""
    import uvicorn

    from adapters import logs
    from adapters.rest.app import ROLE_ENV
    from adapters.store.db import database_url, make_engine
    from adapters.store.migrate import upgrade

    # Migrate once here, so that N workers starting at once find the schema at its head.
    engine = make_engine(database_url(settings.database_url, settings.data_dir))
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    os.environ[ROLE_ENV] = role
    if args.config:
        os.environ["AXIS_CONFIG"] = os.path.abspath(args.config)
    uvicorn.run("adapters.rest.app:from_environment", factory=True, workers=args.workers,
                host=settings.host, port=settings.port, log_level=settings.log_level,
                **logs.uvicorn_options())
    return 0
