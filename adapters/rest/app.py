"""The HTTP edge. Health and readiness now; the agency and admin APIs join in issue 5.

When given a node, the app owns its background work for the server's lifetime: the
delivery worker (outbox → broker → inboxes) runs in a thread started and stopped with
the application.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from adapters.node import Node
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


def create_app(settings: Settings, node: Node | None = None, clock: Clock | None = None) -> FastAPI:
    clk = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        worker = None
        if node is not None:
            worker = threading.Thread(target=node.worker.run, args=(stop,),
                                      name="axis-delivery", daemon=True)
            worker.start()
        try:
            yield
        finally:
            stop.set()
            if node is not None:
                node.worker.wake.set()
            if worker is not None:
                worker.join(timeout=10)

    app = FastAPI(title="Axis", version="0.1.0", summary="Provincial edXML exchange node",
                  lifespan=lifespan)

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
