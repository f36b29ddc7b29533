"""The HTTP edge: health and readiness, and with a node the agency API (/v1, issue 5;
adapters/rest/agency.py, docs/api.md), the admin and operator API (/admin/v1,
adapters/rest/admin.py) and /metrics (adapters/metrics/, docs/operations.md).
Errors leave as JSON (adapters/rest/errors.py).

When given a node, the app owns its background work for the server's lifetime
(adapters/jobs): the delivery worker (outbox → broker → inboxes) and the push loop (inbox →
push agencies' endpoints) run in threads, the periodic jobs (CRL refresh …) on APScheduler,
all started and stopped with the application and watched by the health registry
(axis/health.py) that /readyz, /health/delivery and /metrics read (adapters/rest/health.py).
`role="http"` (`axis serve --no-background`) runs only the jobs every process needs (CRL
refresh) and leaves the loops to `axis worker` processes; every process publishes its
heartbeats to the database and the probes read all of them (adapters/jobs/fleet.py).

`from_environment` is the app factory of `axis serve --workers N`: each uvicorn worker
process builds its own node from the same settings (the environment and `AXIS_CONFIG`).

Every request gets a request id (`X-Request-Id`) and one access line in the log
(adapters/rest/access.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from adapters.console import mount as mount_console
from adapters.federation import snapshot_http
from adapters.jobs.background import Background
from adapters.jobs.catalog import needed
from adapters.jobs.fleet import Fleet, HeartbeatTable
from adapters.metrics.collectors import HealthCollector
from adapters.node import Node
from adapters.rest import (
    admin,
    admin_peers,
    admin_tasks,
    agency,
    agency_tasks,
    docs_assets,
    inspections,
)
from adapters.rest import errors as rest_errors
from adapters.rest import health as probes
from adapters.rest.access import AccessLog
from adapters.rest.admin_auth import authenticate, error_response
from adapters.rest.auth import SECURITY_SCHEMES, build_auth
from adapters.soap import mount as mount_soap
from adapters.task_parts import task_parts
from adapters.vdxp.listener import mount as mount_vdxp
from axis.clock import Clock, SystemClock
from axis.errors import AxisError
from axis.health import Heartbeats
from axis.settings import Settings, load_settings

# How `axis serve --workers N` tells its worker processes what to run (no AXIS_ prefix:
# not a setting, an instruction from the parent process).
ROLE_ENV = "AXISSERVE_ROLE"


def create_app(
    settings: Settings, node: Node | None = None, clock: Clock | None = None, *,
    background: bool = True, role: str = "all", owns_node: bool = False,
) -> FastAPI:
    """`background=False`: the caller drives delivery itself (the demo's scripted clock).
    `role`: "all" (HTTP, loops and jobs) or "http" (HTTP and the every-process jobs; the
    loops run in `axis worker` processes). `owns_node`: close the node at shutdown."""
    clk = clock or SystemClock()
    # This process's loops and jobs; with a background, merged with every other process's.
    fleet = Fleet(HeartbeatTable(node.store.engine), role=role,
                  needed=needed(node, settings)) if node is not None and background else None
    health = fleet or Heartbeats()
    health_metrics = CollectorRegistry()
    health_metrics.register(HealthCollector(health, clk))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        work = Background(node, health=health, clock=clk, settings=settings, role=role,
                          fleet=fleet) if node is not None and background else None
        app.state.background = work
        if work is not None:
            work.start()
        try:
            yield
        finally:
            if work is not None:
                work.stop()
            if owns_node and node is not None:
                node.close()

    app = FastAPI(title="Axis", version="0.1.0", summary="Provincial edXML exchange node",
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.health = health
    app.state.background = None
    rest_errors.install(app)
    docs_assets.install(app)  # /docs and /redoc from packaged assets, no CDN
    app.add_middleware(AccessLog, trusted_proxies=settings.rest.trusted_proxies)
    if node is not None:
        app.state.node = node
        app.state.agency_auth = build_auth(settings, node.registry, clk, node.engine)
        app.include_router(agency.router())
        app.include_router(admin.router(settings, node))
        app.include_router(admin_peers.router(settings, node))
        tasks = task_parts(node).operations  # issue 12: /v1/tasks, /admin/v1/tasks
        app.include_router(agency_tasks.router(tasks))
        app.include_router(admin_tasks.router(settings, node, tasks))
        app.include_router(inspections.admin_router(settings, node, clk))  # Art. 16
        app.include_router(inspections.agency_router(node, clk))
        app.include_router(snapshot_http.router(node))  # signed registry snapshot
        mount_soap(app)  # SOAP 1.1/1.2 on the same gate (adapters/soap, docs/soap.md)
        mount_vdxp(app, settings, node, clk)  # the national SDK's protocol (docs/vdxp.md)
        mount_console(app, settings, node, clk)  # the web console (docs/console.md)
        _document_security(app)

        @app.get("/metrics", tags=["operations"], response_class=Response)
        def metrics(request: Request) -> Response:
            """Prometheus exposition of this node's metrics (docs/operations.md)."""
            if settings.admin.metrics_require_token:
                try:
                    authenticate(settings.admin.tokens, request.headers.get("authorization", ""))
                except AxisError as exc:
                    return error_response(exc)
            # The node's figures, then this process's loops and jobs.
            return Response(generate_latest(node.metrics.registry)
                            + generate_latest(health_metrics),
                            media_type=CONTENT_TYPE_LATEST)

    probes.install(app, settings, node, health, clk)
    return app


def from_environment() -> FastAPI:
    """The app factory of `axis serve --workers N` (uvicorn imports it in each worker
    process): settings from the environment and `AXIS_CONFIG`, a node of its own."""
    import os

    from adapters import logs
    from adapters.node import build_node

    settings = load_settings()  # AXIS_CONFIG names the file, as for the parent
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    role = os.environ.get(ROLE_ENV, "all")
    return create_app(settings, build_node(settings), role=role, owns_node=True)


def _document_security(app: FastAPI) -> None:
    """The three signature headers as OpenAPI security schemes (see docs/api.md)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = plain()
            components = schema.setdefault("components", {})
            components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
