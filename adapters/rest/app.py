"""The HTTP edge. For now: health and readiness; the agency API comes with routing."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from axis.clock import Clock, SystemClock, iso
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


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    clk = clock or SystemClock()
    app = FastAPI(title="Axis", version="0.1.0", summary="Provincial edXML exchange node")

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok", "time": iso(clk.now())}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """Ready: the data directory is writable (database and broker join later)."""
        checks = {"disk": _disk_ok(settings.data_dir)}
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks, "time": iso(clk.now())},
            status_code=200 if ok else 503,
        )

    return app
