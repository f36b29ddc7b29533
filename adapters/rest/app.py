"""The HTTP edge: health and readiness, and with a node the agency API (/v1, issue 5;
adapters/rest/agency.py, docs/api.md), the admin and operator API (/admin/v1,
adapters/rest/admin.py) and /metrics (adapters/rest/metrics.py, docs/operations.md).
Errors leave as JSON (adapters/rest/errors.py).

When given a node, the app owns its background work for the server's lifetime: the
delivery worker (outbox → broker → inboxes) and the push loop (inbox → push agencies'
endpoints) run in threads started and stopped with the application.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from adapters.node import Node
from adapters.rest import admin, agency, docs_assets
from adapters.rest import errors as rest_errors
from adapters.rest.admin_auth import authenticate, error_response
from adapters.rest.auth import SECURITY_SCHEMES, build_auth
from adapters.soap import mount as mount_soap
from axis.clock import Clock, SystemClock, iso
from axis.errors import AxisError
from axis.settings import Settings


def _disk_ok(data_dir: Path) -> bool:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".readyz"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError:
        return False
    return os.access(data_dir, os.W_OK)


def _database_ok(node: Node) -> bool:
    try:
        with node.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def _broker_ok(node: Node) -> bool:
    try:
        node.broker.depth("000.00.00.H37")
    except AxisError:
        return False
    return True


def create_app(
    settings: Settings, node: Node | None = None, clock: Clock | None = None, *,
    background: bool = True,
) -> FastAPI:
    """`background=False`: the caller drives delivery itself (the demo's scripted clock)."""
    clk = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads: list[threading.Thread] = []
        if node is not None and background:
            threads.append(threading.Thread(target=node.worker.run, args=(stop,),
                                            name="axis-delivery", daemon=True))
            if settings.push.enabled:
                threads.append(threading.Thread(target=node.pusher.run, args=(stop,),
                                                name="axis-push", daemon=True))
        for t in threads:
            t.start()
        try:
            yield
        finally:
            stop.set()
            if node is not None:
                node.worker.wake.set()
            for t in threads:
                t.join(timeout=10)

    app = FastAPI(title="Axis", version="0.1.0", summary="Provincial edXML exchange node",
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    rest_errors.install(app)
    docs_assets.install(app)  # /docs and /redoc from packaged assets, no CDN
    if node is not None:
        app.state.node = node
        app.state.agency_auth = build_auth(settings, node.registry, clk)
        app.include_router(agency.router())
        app.include_router(admin.router(settings, node))
        mount_soap(app)  # SOAP 1.1/1.2 on the same gate (adapters/soap, docs/soap.md)
        _document_security(app)

        @app.get("/metrics", tags=["operations"], response_class=Response)
        def metrics(request: Request) -> Response:
            """Prometheus exposition of this node's metrics (docs/operations.md)."""
            if settings.admin.metrics_require_token:
                try:
                    authenticate(settings.admin.tokens, request.headers.get("authorization", ""))
                except AxisError as exc:
                    return error_response(exc)
            return Response(generate_latest(node.metrics.registry),
                            media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok", "time": iso(clk.now())}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """Ready: data directory writable, database and broker reachable."""
        checks = {"disk": _disk_ok(settings.data_dir)}
        if node is not None:
            checks["database"] = _database_ok(node)
            checks["broker"] = _broker_ok(node)
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks, "time": iso(clk.now())},
            status_code=200 if ok else 503,
        )

    return app


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
