"""Readiness says whether the node can ACCEPT; /health/delivery whether deliveries FLOW
(issue 8, items 4 and 9). A real server (uvicorn on 127.0.0.1) of a real node whose broker
misbehaves on demand: away, hung, or killing the thread that calls it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from admin_support import serve_app, start
from exchange_support import NOI_VU, UBND, TestNode
from fastapi import FastAPI

from adapters.amqp.memory import InProcessBroker
from adapters.rest.app import create_app
from axis import errors
from axis.route.broker import BrokerMessage
from axis.settings import DeliverySettings


class UnrulyBroker(InProcessBroker):
    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"  # ok | away | hang | exit
        self.unblock = threading.Event()
        self.hanging = threading.Event()

    def _misbehave(self) -> None:
        if self.mode == "away":
            raise errors.BROKER_UNAVAILABLE.error("test: broker away")
        if self.mode == "hang":
            self.hanging.set()
            self.unblock.wait(30)
        if self.mode == "exit":  # what no `except Exception` catches: the thread ends
            raise SystemExit("test: the delivery thread ends")

    def publish_batch(self, messages: Sequence[BrokerMessage]) -> None:
        self._misbehave()
        super().publish_batch(messages)

    def depth(self, agency_id: str) -> int:
        if self.mode == "away":
            raise errors.BROKER_UNAVAILABLE.error("test: broker away")
        return super().depth(agency_id)


@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> Iterator[TestNode]:
    # The tests move the fixed clock by minutes; an hourly reconciliation is not late then.
    node = start(tmp_path, *pki_dirs, broker=UnrulyBroker(),
                 delivery=DeliverySettings(reconcile_every_seconds=3600))
    yield node
    assert isinstance(node.node.broker, UnrulyBroker)
    node.node.broker.unblock.set()
    node.node.close()


@pytest.fixture()
def app(t: TestNode) -> FastAPI:
    return create_app(t.node.settings, t.node, t.clock)


@pytest.fixture()
def api(app: FastAPI) -> Iterator[httpx.Client]:
    with serve_app(app) as client:
        yield client


def broker(t: TestNode) -> UnrulyBroker:
    assert isinstance(t.node.broker, UnrulyBroker)
    return t.node.broker


def poll(api: httpx.Client, path: str, cond: Callable[[httpx.Response], bool],
         seconds: float = 20) -> httpx.Response:
    pause = threading.Event()
    for _ in range(int(seconds / 0.05)):
        r = api.get(path)
        if cond(r):
            return r
        pause.wait(0.05)
    raise AssertionError(f"{path} never met the condition; last: {r.status_code} {r.text}")


def background(r: httpx.Response) -> dict[str, Any]:
    out: dict[str, Any] = r.json()["background"]
    return out


def test_all_well(api: httpx.Client) -> None:
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"disk": True, "database": True, "trust": True}
    assert ready.json()["delivery"] == "ok"
    r = poll(api, "/health/delivery", lambda r: r.status_code == 200)
    body = r.json()
    assert body["status"] == "ok" and body["stranded"] == 0 and body["reasons"] == []
    assert {"delivery", "trust.crl_refresh"} <= set(body["background"])
    assert body["background"]["delivery"]["state"] == "alive"
    assert body["background"]["trust.crl_refresh"]["kind"] == "job"


def test_broker_outage_keeps_intake_but_degrades_delivery(
    t: TestNode, app: FastAPI, api: httpx.Client
) -> None:
    broker(t).mode = "away"
    receipt = t.node.exchange.submit(t.document(UBND, (NOI_VU,), 1)[1])  # still accepted
    assert receipt.deliveries
    assert api.get("/readyz").status_code == 200  # a load balancer keeps sending
    r = poll(api, "/health/delivery",
             lambda r: r.json()["background"]["delivery"]["failures"] > 0)
    assert r.status_code == 503 and r.json()["status"] == "degraded"
    assert r.json()["checks"]["broker"] is False
    assert r.json()["background"]["delivery"]["last_error"].startswith(
        "node.broker_unavailable")
    # Long enough to count as stranded, and the loop is late: no pass completed.
    t.clock.advance(timedelta(minutes=10))
    r = api.get("/health/delivery")
    assert r.json()["stranded"] == 1 and r.json()["checks"]["stranded"] is False
    assert r.json()["background"]["delivery"]["state"] == "late"
    assert api.get("/readyz").status_code == 200
    broker(t).mode = "ok"
    # The fixed clock jumped 10 minutes: the periodic reconciliation would have run
    # meanwhile (it finds nothing lost here: the copy was never marked sent).
    app.state.background.scheduler.trigger("delivery.reconcile")
    r = poll(api, "/health/delivery", lambda r: r.status_code == 200)
    assert r.json()["stranded"] == 0
    assert len(t.node.exchange.inbox(NOI_VU)) == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_delivery_thread_is_reported(t: TestNode, api: httpx.Client) -> None:
    broker(t).mode = "exit"
    t.node.exchange.submit(t.document(UBND, (NOI_VU,), 2)[1])
    t.node.worker.wake.set()
    r = poll(api, "/health/delivery",
             lambda r: background(r)["delivery"]["state"] == "dead")
    assert r.status_code == 503 and "loop delivery: dead" in r.json()["reasons"]
    ready = api.get("/readyz")
    assert ready.status_code == 200  # it still accepts …
    assert ready.json()["delivery"] == "degraded"  # … and says that delivery does not flow
    assert background(ready)["delivery"]["state"] == "dead"
    metrics = api.get("/metrics").text
    assert 'axis_background_up{kind="loop",name="delivery"} 0.0' in metrics


def test_a_hung_delivery_pass_is_late(t: TestNode, api: httpx.Client) -> None:
    b = broker(t)
    poll(api, "/health/delivery", lambda r: background(r)["delivery"]["last_success"])
    b.mode = "hang"
    t.node.exchange.submit(t.document(UBND, (NOI_VU,), 3)[1])
    t.node.worker.wake.set()
    assert b.hanging.wait(20)
    # Read on /readyz, which shows the same heartbeats: while the hung pass holds the
    # SQLite write lock, counting stranded deliveries (/health/delivery) waits for it.
    assert background(api.get("/readyz"))["delivery"]["state"] == "alive"  # in its period
    t.clock.advance(timedelta(minutes=2, seconds=1))
    ready = api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["delivery"] == "degraded"
    assert background(ready)["delivery"]["state"] == "late"
    b.mode = "ok"
    b.unblock.set()
    r = poll(api, "/health/delivery", lambda r: r.status_code == 200)
    assert background(r)["delivery"]["last_success"] == "2026-11-24T09:02:01+07:00"


def test_a_started_server_reconciles_what_a_dead_one_left_stranded(
    tmp_path: Path, pki_dirs: tuple[Path, Path]
) -> None:
    """Issue 8, item 9: the reconciliation job runs as the server starts (then on its
    period): deliveries a broker lost are republished and reach the inbox, and the
    delivery health signal goes from degraded back to ok."""
    t = start(tmp_path, *pki_dirs, broker=InProcessBroker())
    try:
        ids = [t.node.exchange.submit(t.document(UBND, (NOI_VU,), n)[1])
               .deliveries[0].delivery_id for n in (1, 2)]
        assert len(t.node.worker.handover.relay_once(10)) == 2
        for received in t.node.broker.fetch(NOI_VU, 10):  # what a crash takes with it
            t.node.broker.ack(received)
        t.clock.advance(t.node.worker.reconcile_after + timedelta(seconds=1))
        assert t.node.worker.stranded(t.clock.now()) == 2
        with serve_app(create_app(t.node.settings, t.node, t.clock)) as client:
            poll(client, "/health/delivery", lambda r: r.status_code == 200)
            listed = {i.delivery_id for i in t.node.exchange.inbox(NOI_VU)}
            assert listed == set(ids)
            job = background(client.get("/health/delivery"))["delivery.reconcile"]
            assert job["kind"] == "job" and job["last_success"]
    finally:
        t.node.close()
