"""The probes: liveness, readiness (can this node ACCEPT?) and delivery health (do
deliveries FLOW?), kept apart on purpose (docs/operations.md, "Probes").

Readiness is what a load balancer acts on, so it fails only when accepting would fail: the
data directory is not writable, the database does not answer, or a CRL is stale (every
signature from its issuer is then refused with `trust.revocation_unknown`). A broker
outage does not make the node unready: the outbox holds what is accepted.

Delivery health is what alerting acts on: the broker answers, every background loop and
job is alive (axis/health.py: not dead, not late), and no delivery is stranded (accepted
long ago, in no inbox yet). /readyz shows the same summary for information only.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from adapters.node import Node
from axis.clock import Clock, iso
from axis.health import Beat, Heartbeats, Liveness
from axis.settings import Settings


def disk_ok(data_dir: Path) -> bool:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".readyz"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError:
        return False
    return os.access(data_dir, os.W_OK)


def database_ok(node: Node) -> bool:
    try:
        with node.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure to answer is "not reachable"; the reason is not ours
        return False
    return True


def broker_ok(node: Node) -> bool:
    try:
        node.broker.depth("000.00.00.H37")
    except Exception:  # the broker port raises AxisError; a defect there is unreachable too
        return False
    return True


def beat_json(b: Beat) -> dict[str, Any]:
    return {
        "kind": b.kind, "state": b.state.value,
        "last_success": iso(b.last_success) if b.last_success else None,
        "last_error_at": iso(b.last_error_at) if b.last_error_at else None,
        "last_error": b.last_error or None, "last_error_id": b.last_error_id or None,
        "failures": b.failures,
        "expected_every_s": b.expected_every.total_seconds() if b.expected_every else None,
    }


def readiness(settings: Settings, node: Node | None, health: Heartbeats,
              now: datetime) -> tuple[bool, dict[str, Any]]:
    checks = {"disk": disk_ok(settings.data_dir)}
    reasons = [] if checks["disk"] else [f"disk: {settings.data_dir} is not writable"]
    body: dict[str, Any] = {}
    if node is not None:
        checks["database"] = database_ok(node)
        if not checks["database"]:
            reasons.append("database: not reachable")
        stale = node.trust.crls.stale(now)
        checks["trust"] = not stale
        reasons += [f"trust: {why}" for why in stale.values()]
        beats = health.status(now)
        body["delivery"] = "ok" if all(b.state is Liveness.ALIVE for b in beats) else (
            "degraded")  # information: /health/delivery is the signal
        body["background"] = {b.name: beat_json(b) for b in beats}
        unreachable = peers_unreachable(node, now) if checks["database"] else []
        body["peers"] = "ok" if not unreachable else "degraded"
        reasons += [f"peer {name}: unreachable since {since}" for name, since in unreachable]
    ok = all(checks.values())
    # A peer down longer than its bound degrades the node but leaves it ready (issue 10):
    # the province's own traffic flows, and what is for the peer waits in its queue.
    status = "unavailable" if not ok else "degraded" if body.get("peers") == "degraded" \
        else "ok"
    return ok, {"status": status, "checks": checks,
                "reasons": reasons, **body, "time": iso(now)}


def peers_unreachable(node: Node, now: datetime) -> list[tuple[str, str]]:
    """(name, failing since) of every active peer failing for longer than its bound."""
    try:
        peers = node.peers.list()
    except Exception:  # the database went away between the two checks
        return []
    return [(p.name, iso(p.failing_since)) for p in peers
            if p.unreachable(now) and p.failing_since is not None]


def delivery_health(node: Node, health: Heartbeats, now: datetime
                    ) -> tuple[bool, dict[str, Any]]:
    reasons: list[str] = []
    broker = broker_ok(node)
    if not broker:
        reasons.append("broker: not reachable")
    beats = health.status(now)
    reasons += [f"{b.kind} {b.name}: {b.state.value}" for b in beats
                if b.state is not Liveness.ALIVE]
    stranded: int | None
    try:
        stranded = node.worker.stranded(now)
    except Exception as exc:  # the database is away or locked: here, unknown
        stranded = None
        reasons.append(f"stranded: cannot be counted ({type(exc).__name__}: {exc})"[:300])
    else:
        if stranded:
            reasons.append(f"stranded: {stranded} deliveries accepted and in no inbox")
    checks = {"broker": broker,
              "background": all(b.state is Liveness.ALIVE for b in beats),
              "stranded": stranded == 0}
    ok = all(checks.values())
    return ok, {"status": "ok" if ok else "degraded", "checks": checks, "reasons": reasons,
                "stranded": stranded, "background": {b.name: beat_json(b) for b in beats},
                "time": iso(now)}


def install(app: FastAPI, settings: Settings, node: Node | None, health: Heartbeats,
            clock: Clock) -> None:
    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok", "time": iso(clock.now())}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """Ready to accept: data directory writable, database reachable, no stale CRL
        (503 with `reasons` otherwise). `delivery` and `background` are information;
        /health/delivery is the delivery signal. A peer unreachable longer than its bound
        makes the status `degraded` (still 200, with the reason)."""
        ok, body = readiness(settings, node, health, clock.now())
        return JSONResponse(body, status_code=200 if ok else 503)

    if node is None:
        return

    @app.get("/health/delivery", tags=["operations"])
    def delivery() -> JSONResponse:
        """Deliveries flow: broker reachable, every background loop and job alive, no
        stranded delivery (503 `degraded` with `reasons` otherwise)."""
        ok, body = delivery_health(node, health, clock.now())
        return JSONResponse(body, status_code=200 if ok else 503)
