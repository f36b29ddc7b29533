"""A test node served by a real uvicorn on 127.0.0.1 (port 0, in a thread) with two
administrator tokens (admin and operator), for the admin API, /metrics, notices and push.

Like tests/exchange_support.py's node (seeded registry, test CA, fixed clock, predictable
ids) with settings of the test's choosing. The server's push loop is off: tests drive
`PushDeliverer.run_once` themselves, moving the clock instead of sleeping.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from exchange_support import SEED, T0, TestNode
from fastapi import FastAPI
from rest_support import _Server  # the same ready-signalling uvicorn server

from adapters.node import build_node
from adapters.rest.app import create_app
from axis.clock import FixedClock
from axis.registry import codec
from axis.route.broker import BrokerPort
from axis.route.model import DeliveryState
from axis.settings import AdminSettings, AdminToken, PushSettings, Settings, TrustSettings

ADMIN_TOKEN = "axa_test-admin-token-0123456789abcdef"  # a test fixture
OPERATOR_TOKEN = "axa_test-operator-token-0123456789abcdef"  # a test fixture
ADMIN_NAME, OPERATOR_NAME = "quan.tri.vien", "van.hanh.vien"
# One token per other role (axis/auth/roles.py): name = role, token = axa_test-<role>-….
ROLE_TOKENS = {r: f"axa_test-{r}-token-0123456789abcdef"
               for r in ("viewer", "auditor", "registry_admin", "office")}


def token_entry(token: str, name: str, role: str) -> AdminToken:
    return AdminToken(name=name, role=role,  # type: ignore[arg-type]
                      hash="sha256:" + hashlib.sha256(token.encode()).hexdigest())


TOKENS = (token_entry(ADMIN_TOKEN, ADMIN_NAME, "admin"),
          token_entry(OPERATOR_TOKEN, OPERATOR_NAME, "operator"),
          *(token_entry(tok, f"test.{r}", r) for r, tok in ROLE_TOKENS.items()))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start(
    tmp: Path, pki_dir: Path, anchors: Path, *, broker: BrokerPort | None = None,
    **overrides: Any,
) -> TestNode:
    """A seeded node; `overrides` are Settings fields (admin and push have test defaults)."""
    values: dict[str, Any] = {
        "data_dir": tmp / "var", "trust": TrustSettings(anchors_dir=anchors),
        "admin": AdminSettings(tokens=TOKENS),
        "push": PushSettings(enabled=False, require_https=False),
    }
    settings = Settings(**(values | overrides))
    clock = FixedClock(T0)
    ids = itertools.count(1)
    node = build_node(settings, clock=clock, new_id=lambda: f"t-{next(ids):06d}",
                      broker=broker)
    node.registry.import_rows(codec.load_json(SEED.read_text(encoding="utf-8")),
                              actor="test", reason="seed", only_new=True)
    return TestNode(node, clock, pki_dir)


def settle(t: TestNode, *, queued: int = 0, seconds: float = 10) -> None:
    """Deliver until only `queued` deliveries wait (on AMQP agencies' own queues). The
    server's worker thread moves deliveries too: a copy it has fetched and not yet
    committed is in neither place for a moment, so this waits for the count."""
    pause = threading.Event()
    for _ in range(int(seconds / 0.02)):
        t.deliver_all()
        with t.node.store.transaction() as tx:
            if tx.pending_outbox() == 0 and tx.count_deliveries(DeliveryState.QUEUED) == queued:
                return
        pause.wait(0.02)
    raise AssertionError("deliveries did not settle")


@contextmanager
def serve(t: TestNode, settings: Settings | None = None) -> Iterator[httpx.Client]:
    """An httpx client bound to a real server of the node's app (its settings by default)."""
    with serve_app(create_app(settings or t.node.settings, t.node, t.clock)) as client:
        yield client


@contextmanager
def serve_app(app: FastAPI) -> Iterator[httpx.Client]:
    """An httpx client bound to a real server of `app` (the test keeps the app: its state
    holds the server's background work)."""
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                    lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-admin-test", daemon=True)
    thread.start()
    try:
        assert server.ready.wait(30) and server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)
