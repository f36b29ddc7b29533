"""Push delivery against a real HTTP endpoint on 127.0.0.1 that checks the node's HMAC:
a 2xx delivers (Art. 11.2 time, 01 to the sender), failures back off exponentially with
jitter on the injected clock (no sleeping), the bound dead-letters with an alert, and an
operator can requeue."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from admin_support import start
from exchange_support import NOI_VU, UBND, TestNode

from adapters.push import signing
from adapters.push.attempts import PushAttempts
from adapters.push.deliverer import PushDeliverer
from axis.auth import keys
from axis.auth import signing as agency_signing
from axis.edxml.model import Kind, StatusCode
from axis.registry.model import DeliveryMode
from axis.route.model import DeliveryState, TrailEvent
from axis.settings import PushSettings

VP = "000.00.01.H37"  # Văn phòng UBND tỉnh: push mode in the seed


@dataclass
class Endpoint:
    """What the agency's system does: verify, then answer as told."""

    secret: str = ""
    fail_first: int = 0  # answer 500 this many times, then 200
    status: int = 200  # the answer after the failures (e.g. 503 forever)
    received: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)
    url: str = ""


@pytest.fixture()
def endpoint() -> Iterator[Endpoint]:
    ep = Endpoint()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            h = {k.lower(): v for k, v in self.headers.items()}
            ep.received.append(h)
            ep.bodies.append(body)
            ok = signing.verify(ep.secret, target=self.path, timestamp=h["x-axis-timestamp"],
                                delivery_id=h["x-axis-delivery-id"], body=body,
                                signature=h["x-axis-signature"])
            ep.verified.append(ok)
            if not ok:
                status = 401
            elif len(ep.received) <= ep.fail_first:
                status = 500
            else:
                status = ep.status
            self.send_response(status)
            if status == 302:
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ep.url = f"http://127.0.0.1:{server.server_address[1]}/qlvb/nhan?he-thong=1"
    try:
        yield ep
    finally:
        server.shutdown()
        server.server_close()



@pytest.fixture()
def t(tmp_path: Path, pki_dirs: tuple[Path, Path], endpoint: Endpoint) -> Iterator[TestNode]:
    node = start(tmp_path, *pki_dirs)
    vp = node.node.registry.resolve(VP)
    node.node.registry.update(replace(vp, endpoint=endpoint.url), actor="test",
                              reason="địa chỉ nhận văn bản")
    issued = node.node.registry.issue_credential(
        VP, actor="test", reason="kết nối", system_id="vp-qlvb",
        secret_for=lambda sid: agency_signing.derive_secret(
            keys.master_key(node.node.settings), sid))
    endpoint.secret = issued.secret
    yield node
    node.node.close()


def pusher(t: TestNode, *, random: float = 1.0, **settings: object) -> PushDeliverer:
    values: dict[str, object] = {"require_https": False, "max_attempts": 4,
                                 "base_delay_seconds": 2.0, "max_delay_seconds": 5.0}
    n = t.node
    return PushDeliverer(
        exchange=n.exchange, directory=n.registry, http=n.http,
        secret_for=lambda sid: agency_signing.derive_secret(keys.master_key(n.settings), sid),
        clock=t.clock, random=lambda: random,
        settings=PushSettings(**(values | settings)),  # type: ignore[arg-type]
        attempts=PushAttempts(n.store.engine), observer=n.metrics)


def send_to_vp(t: TestNode, number: int = 1) -> tuple[str, str, bytes]:
    doc_id, raw = t.document(UBND, (VP, NOI_VU), number)
    receipt = t.node.exchange.submit(raw)
    t.deliver_all()
    return doc_id, receipt.deliveries[0].delivery_id, raw


def state(t: TestNode, delivery_id: str) -> DeliveryState:
    with t.node.store.transaction() as tx:
        d = tx.get_delivery(delivery_id)
    assert d is not None
    return d.state


def test_a_2xx_delivers_like_a_take(t: TestNode, endpoint: Endpoint) -> None:
    assert t.node.registry.resolve(VP).delivery_mode is DeliveryMode.PUSH
    doc_id, delivery_id, raw = send_to_vp(t)
    assert pusher(t).run_once().delivered == 1
    assert endpoint.bodies == [raw]  # byte-identical: recipients verify the sender
    h = endpoint.received[0]
    assert endpoint.verified == [True]
    assert h["x-axis-delivery-id"] == delivery_id and h["x-axis-system-id"] == "vp-qlvb"
    assert h["x-axis-attempt"] == "1" and h["content-type"].startswith("application/xml")
    assert float(h["x-axis-timestamp"]) == t.clock.now().timestamp()
    with t.node.store.transaction() as tx:
        d = tx.get_delivery(delivery_id)
    assert d is not None and d.state is DeliveryState.DELIVERED
    assert d.delivered_at == t.clock.now() and d.effective_at is not None
    assert t.node.exchange.inbox(VP) == []
    assert [i.document_id for i in t.node.exchange.inbox(NOI_VU)] == [doc_id]  # pull: waits
    # Art. 11.1: the sender hears 01 (arrived) from the node on VP's behalf.
    t.deliver_all()
    statuses = [i for i in t.node.exchange.inbox(UBND) if i.kind is Kind.STATUS]
    assert [(s.sender_id, s.status_code) for s in statuses] == [(VP, StatusCode.ARRIVED.value)]
    assert pusher(t).run_once().delivered == 0  # nothing twice
    assert len(endpoint.received) == 1


def test_the_nodes_channels_push_a_push_agencys_copy_and_leave_pull_copies(
    t: TestNode, endpoint: Endpoint
) -> None:
    """What the background's loop runs (adapters/jobs/catalog.py): the dispatcher hands
    the push agency to the push channel; the pull agency's copy waits in its inbox."""
    doc_id, delivery_id, _ = send_to_vp(t)
    t.node.pusher = pusher(t)
    assert t.node.channels.run_once().delivered == 1
    assert state(t, delivery_id) is DeliveryState.DELIVERED and endpoint.verified == [True]
    assert [i.document_id for i in t.node.exchange.inbox(NOI_VU)] == [doc_id]


def test_failures_back_off_exponentially_on_the_clock_then_deliver(
    t: TestNode, endpoint: Endpoint
) -> None:
    endpoint.fail_first = 2
    _, delivery_id, _ = send_to_vp(t)
    p = pusher(t)
    assert p.run_once().retried == 1 and p.attempts(delivery_id) == 1
    assert p.run_once().retried == 0 and len(endpoint.received) == 1  # not due yet
    t.clock.advance(timedelta(seconds=1.9))
    p.run_once()
    assert len(endpoint.received) == 1
    t.clock.advance(timedelta(seconds=0.1))  # 2 s = base · 2^0 · jitter 1.0
    assert p.run_once().retried == 1 and len(endpoint.received) == 2
    t.clock.advance(timedelta(seconds=3.9))
    p.run_once()
    assert len(endpoint.received) == 2
    t.clock.advance(timedelta(seconds=0.1))  # 4 s = base · 2^1
    assert p.run_once().delivered == 1
    assert [h["x-axis-attempt"] for h in endpoint.received] == ["1", "2", "3"]
    assert len({h["x-axis-delivery-id"] for h in endpoint.received}) == 1
    assert state(t, delivery_id) is DeliveryState.DELIVERED
    failed = [e for e in t.node.store.journal() if e.kind == "delivery.push_failed"]
    assert [e.payload["attempt"] for e in failed] == [1, 2]
    assert failed[0].payload["error"] == "HTTP 500"
    assert failed[0].payload["next_attempt_at"] == "2026-11-24T09:00:02+07:00"


def test_jitter_scales_the_capped_delay(t: TestNode, endpoint: Endpoint) -> None:
    endpoint.status = 503
    _, delivery_id, _ = send_to_vp(t)
    p = pusher(t, random=0.5, max_attempts=10, max_delay_seconds=6.0)
    for _ in range(5):
        p.run_once()
        t.clock.advance(timedelta(seconds=6))  # past every possible delay (cap 6 s)
    delays = [(datetime.fromisoformat(str(e.payload["next_attempt_at"])) - e.at).total_seconds()
              for e in t.node.store.journal() if e.kind == "delivery.push_failed"]
    # base 2 s doubling (2, 4, 8, 16, 32), capped at 6 s, times the random factor 0.5.
    assert delays == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert state(t, delivery_id) is DeliveryState.AVAILABLE


def test_refused_always_dead_letters_with_an_alert_then_requeue_delivers(
    t: TestNode, endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.status = 503
    doc_id, delivery_id, _ = send_to_vp(t)
    p = pusher(t, max_attempts=3)
    with caplog.at_level(logging.ERROR, logger="axis.push"):
        for _ in range(3):
            p.run_once()
            t.clock.advance(timedelta(seconds=10))
    assert len(endpoint.received) == 3
    assert state(t, delivery_id) is DeliveryState.FAILED
    assert t.node.exchange.inbox(VP) == []
    assert any("ALERT node.push_dead_lettered" in r.getMessage() for r in caplog.records)
    dead = [e for e in t.node.store.journal() if e.kind == "delivery.failed"]
    assert len(dead) == 1 and dead[0].payload["code"] == "node.push_dead_lettered"
    assert dead[0].payload["attempts"] == 3
    trail = [e for e in t.node.exchange.trail(doc_id) if e.agency_id == VP]
    assert trail[-1].event is TrailEvent.FAILED and "3 attempts" in trail[-1].detail
    assert p.run_once().delivered == 0 and len(endpoint.received) == 3  # nothing after
    reg = t.node.metrics.registry
    assert reg.get_sample_value("axis_push_attempts_total", {"outcome": "retry"}) == 2
    assert reg.get_sample_value("axis_push_attempts_total", {"outcome": "dead_letter"}) == 1

    # The agency fixed its endpoint; an operator puts the copy back.
    endpoint.status = 200
    assert p.requeue(delivery_id, actor="van.hanh.vien", reason="hệ thống đã sửa")
    assert not p.requeue(delivery_id, actor="van.hanh.vien", reason="lần hai")
    assert p.run_once().delivered == 1
    assert endpoint.received[-1]["x-axis-attempt"] == "1"  # a fresh budget
    assert state(t, delivery_id) is DeliveryState.DELIVERED


def test_no_push_without_https_credential_or_a_direct_answer(
    t: TestNode, endpoint: Endpoint
) -> None:
    _, delivery_id, _ = send_to_vp(t)
    p = pusher(t, require_https=True)
    assert p.run_once().retried == 1 and endpoint.received == []  # never sent in clear
    failed = [e for e in t.node.store.journal() if e.kind == "delivery.push_failed"]
    assert "https" in str(failed[-1].payload["error"])

    # A redirect is not followed: the package goes only where the registry says.
    endpoint.status = 302
    t.clock.advance(timedelta(seconds=10))
    assert pusher(t).run_once().retried == 1 and len(endpoint.received) == 1

    # The newest unrevoked credential keys the signature; with none, nothing is sent.
    t.node.registry.revoke_credential("vp-qlvb", actor="test", reason="lộ")
    t.clock.advance(timedelta(seconds=10))
    assert pusher(t).run_once().retried == 1 and len(endpoint.received) == 1
    assert state(t, delivery_id) is DeliveryState.AVAILABLE


def test_a_closed_port_is_a_failed_attempt_not_a_crash(t: TestNode) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    vp = t.node.registry.resolve(VP)
    t.node.registry.update(replace(vp, endpoint=f"http://127.0.0.1:{port}/x"), actor="test",
                           reason="đổi địa chỉ")
    send_to_vp(t)
    assert pusher(t).run_once().retried == 1
    failed = [e for e in t.node.store.journal() if e.kind == "delivery.push_failed"]
    assert str(failed[-1].payload["error"]).startswith("ConnectError")


def test_the_server_push_loop_delivers_without_being_driven(
    t: TestNode, endpoint: Endpoint
) -> None:
    from admin_support import serve

    t.node.pusher = pusher(t)  # the node's own loop, with the test's settings
    settings = t.node.settings.model_copy(update={"push": PushSettings(
        enabled=True, require_https=False, poll_seconds=0.05)})
    _, delivery_id, _ = send_to_vp(t)
    with serve(t, settings) as api:
        deadline = threading.Event()
        for _ in range(200):  # up to 10 s; the loop polls every 50 ms
            if state(t, delivery_id) is DeliveryState.DELIVERED:
                break
            deadline.wait(0.05)
        assert api.get("/healthz").status_code == 200
    assert state(t, delivery_id) is DeliveryState.DELIVERED
    assert endpoint.verified == [True]


def test_signature_reference_vector() -> None:
    """A fixed vector agency implementers can check their verifier against."""
    body = b"<edXML/>"
    sig = signing.sign("secret", signing.canonical("/nhan?a=1", "1795500000.000000", "d-1",
                                                   body))
    assert signing.canonical("/nhan?a=1", "1795500000.000000", "d-1", body) == (
        "AXIS-PUSH-V1\nPOST\n/nhan?a=1\n1795500000.000000\nd-1\n"
        "8d55f6c7bf7cd534cf027a10e1bb5731c68279c3cb991c0f4844774c685b3758")
    # Computed independently: printf '<canonical>' | openssl dgst -sha256 -hmac secret
    assert sig == "5db47b2cdcf8add0ac953d3851647cc76d49f6f3c4451e4bd1a29484fc9c7d96"
    assert signing.verify("secret", target="/nhan?a=1", timestamp="1795500000.000000",
                          delivery_id="d-1", body=body, signature=sig)
    assert not signing.verify("other", target="/nhan?a=1", timestamp="1795500000.000000",
                              delivery_id="d-1", body=body, signature=sig)
    assert signing.target_of("https://x.example") == "/"
    assert httpx.URL("https://x.example/a?b=c").raw_path == b"/a?b=c"


def test_attempts_survive_a_restart_and_two_workers_push_once(
    t: TestNode, endpoint: Endpoint
) -> None:
    """The budget lives in the database (issue 9): a new deliverer (a restarted worker)
    continues the count and the back-off instead of starting afresh, and of two
    deliverers (two worker processes) passing at the same moment only one POSTs."""
    endpoint.status = 503
    _, delivery_id, _ = send_to_vp(t)
    first = pusher(t, max_attempts=3)
    assert first.run_once().retried == 1
    restarted = pusher(t, max_attempts=3)
    assert restarted.attempts(delivery_id) == 1
    row = PushAttempts(t.node.store.engine).get(delivery_id)
    assert row is not None and row.last_error == "HTTP 503"
    assert row.next_attempt_at == t.clock.now() + timedelta(seconds=2)
    assert restarted.run_once().retried == 0  # still backing off: no POST
    assert len(endpoint.received) == 1
    t.clock.advance(timedelta(seconds=2))
    other = pusher(t, max_attempts=3)
    done = [restarted.run_once(), other.run_once()]
    assert sum(r.retried for r in done) == 1 and len(endpoint.received) == 2
    t.clock.advance(timedelta(seconds=4))
    # The third attempt of the copy's life is its last, whichever process makes it.
    assert pusher(t, max_attempts=3).run_once().dead_lettered == 1
    assert [h["x-axis-attempt"] for h in endpoint.received] == ["1", "2", "3"]
    assert state(t, delivery_id) is DeliveryState.FAILED
    assert PushAttempts(t.node.store.engine).get(delivery_id) is None  # spent: forgotten


def test_a_claimed_attempt_is_not_claimed_again_until_its_lease_ends(t: TestNode) -> None:
    """A worker killed mid-POST spent its attempt; another takes over after the lease."""
    _, delivery_id, _ = send_to_vp(t)
    attempts = PushAttempts(t.node.store.engine)
    now, lease = t.clock.now(), timedelta(seconds=60)
    assert attempts.claim(delivery_id, now, lease) == 1
    assert attempts.claim(delivery_id, now, lease) is None
    assert attempts.claim(delivery_id, now + timedelta(seconds=59), lease) is None
    assert attempts.claim(delivery_id, now + lease, lease) == 2


def test_the_budget_of_a_copy_taken_by_pull_is_dropped(t: TestNode, endpoint: Endpoint) -> None:
    endpoint.status = 503
    _, delivery_id, _ = send_to_vp(t)
    p = pusher(t)
    assert p.run_once().retried == 1 and p.attempts(delivery_id) == 1
    t.node.exchange.take(VP, delivery_id)  # the agency pulled it meanwhile
    p.run_once()
    assert PushAttempts(t.node.store.engine).get(delivery_id) is None
    assert len(endpoint.received) == 1
