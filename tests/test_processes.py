"""The node as separate processes (issue 9, item 3): `axis serve --no-background` answers
HTTP, `axis worker` processes deliver, on one database (and one broker); a worker killed
with SIGKILL while another keeps going loses and duplicates nothing; the HTTP process's
/health/delivery sees the workers' loops through the heartbeats they publish, and says
so when none runs; `axis serve --workers 2` answers on one port from two processes.

Real processes, real sockets, real SQLite / PostgreSQL + RabbitMQ; the parent reads the
database to audit, and waits by polling with deadlines.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from exchange_support import KE_HOACH, NOI_VU, T0, TAI_CHINH, UBND, TestNode
from process_support import EMBEDDED, RABBIT_POSTGRES, Deployment, deployment
from service_support import wait_until
from sqlalchemy import func, select

from adapters.amqp.rabbit import RabbitBroker
from adapters.client.agency import AgencyClient
from adapters.push.attempts import PushAttempts
from adapters.store.process_tables import process_heartbeats
from adapters.store.route_tables import deliveries, inbox
from axis.auth import keys, signing
from axis.clock import FixedClock

PACKAGES = 100
KILL_AFTER = 30  # sends before worker A is killed
DELIVERED_S = 120.0
VP = "000.00.01.H37"  # Văn phòng UBND tỉnh: push mode in the seed


def client(d: Deployment, url: str, agency_id: str = UBND) -> AgencyClient:
    master = keys.master_key(d.settings)
    issued = d.node.registry.issue_credential(
        agency_id, actor="test", reason="kết nối hệ thống QLVB",
        secret_for=lambda sid: signing.derive_secret(master, sid))
    return AgencyClient(url, issued.credential.system_id, issued.secret, timeout=60)


def health(url: str) -> httpx.Response:
    return httpx.get(f"{url}/health/delivery", timeout=30)


def roles(d: Deployment) -> Counter[str]:
    """How many processes of each role publish heartbeats."""
    with d.node.store.engine.connect() as conn:
        return Counter(r.role for r in conn.execute(
            select(process_heartbeats.c.process_id, process_heartbeats.c.role).distinct()))


def available(d: Deployment, ids: set[str]) -> int:
    with d.node.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(deliveries).where(
            deliveries.c.delivery_id.in_(ids), deliveries.c.state == "available"))
            .scalar_one())


@pytest.mark.parametrize("backend", [EMBEDDED, RABBIT_POSTGRES])
def test_workers_deliver_what_an_http_only_server_accepts_one_killed(
    backend: str, tmp_path: Path, pki_dirs: tuple[Path, Path],
) -> None:
    pki_dir, anchors = pki_dirs
    with deployment(tmp_path, anchors, backend) as d:
        signer = TestNode(d.node, FixedClock(T0), pki_dir)
        recipients = [(NOI_VU, TAI_CHINH), (KE_HOACH,), (TAI_CHINH, KE_HOACH)]
        packages = [signer.document(UBND, recipients[n % 3], 500 + n)[1]
                    for n in range(PACKAGES)]
        serve = d.serve("--no-background")
        url = serve.url()
        # No worker yet: the HTTP process accepts, and says that nothing delivers.
        r = health(url)
        assert r.status_code == 503, r.text
        assert "loop delivery: dead" in r.json()["reasons"], r.json()
        assert r.json()["background"]["delivery"]["last_error"] == "no live process runs it"
        assert "trust.crl_refresh" in r.json()["background"]  # runs in the HTTP process

        a, b = d.worker(), d.worker()
        # Both workers' heartbeats reach the HTTP process through the database.
        wait_until(lambda: roles(d) == {"worker": 2, "http": 1}, timeout_s=120,
                   what=f"both workers publish their heartbeats: {roles(d)}")
        r = health(url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["background"]["delivery"]["state"] == "alive"
        assert body["background"]["delivery.reconcile"]["state"] == "alive"

        ubnd = client(d, url)
        ids: set[str] = set()
        for n, raw in enumerate(packages):
            if n == KILL_AFTER:
                a.kill()  # mid-stream: whatever it held is the other worker's now
            receipt = ubnd.send(raw)
            ids.update(x["doc_id"] for x in receipt["deliveries"])
        expected = sum(len(recipients[n % 3]) for n in range(PACKAGES))
        assert len(ids) == expected

        wait_until(lambda: available(d, ids) == expected, timeout_s=DELIVERED_S,
                   what=f"all {expected} copies are in their inboxes "
                        f"(now {available(d, ids)})")
        # Nothing duplicated: one inbox row and one journal `delivery.available` each.
        with d.node.store.engine.connect() as conn:
            in_inbox = Counter(conn.execute(
                select(inbox.c.delivery_id).where(inbox.c.delivery_id.in_(ids))).scalars())
        assert set(in_inbox) == ids and set(in_inbox.values()) == {1}
        made_available = Counter(e.subject for e in d.node.store.journal()
                                 if e.kind == "delivery.available")
        assert {i: made_available[i] for i in ids} == dict.fromkeys(ids, 1)
        with d.node.store.transaction() as tx:
            assert tx.pending_outbox() == 0
        if d.rabbit:
            broker = d.node.broker
            assert isinstance(broker, RabbitBroker)
            for agency in (NOI_VU, TAI_CHINH, KE_HOACH):
                assert broker.depth(agency) == 0, agency
            assert broker.dead_letters() == []
        assert health(url).status_code == 200  # b still delivers

        # A clean stop withdraws the worker's heartbeats at once (the killed one's age
        # out: FRESH_FOR after its last report, no process counts it).
        assert b.stop() == 0, b.text()[-3000:]
        assert roles(d)["worker"] == 1  # a's rows only
        # uvicorn ends by re-raising the SIGTERM it handled: a clean stop.
        assert serve.stop() in (0, -15), serve.text()[-3000:]
        assert roles(d) == {"worker": 1}


def test_serve_workers_answer_on_one_port(tmp_path: Path, pki_dirs: tuple[Path, Path]) -> None:
    with deployment(tmp_path, pki_dirs[1], EMBEDDED) as d:
        serve = d.serve("--workers", "2")
        url = serve.url()

        wait_until(lambda: roles(d) == {"all": 2}, timeout_s=120,
                   what="two HTTP processes, each with its node, publish heartbeats")
        answers: Counter[int] = Counter()
        lock = threading.Lock()

        def hit() -> None:
            with httpx.Client(timeout=30) as http:
                for _ in range(10):
                    r = http.get(f"{url}/healthz")
                    with lock:
                        answers[r.status_code] += 1

        threads = [threading.Thread(target=hit) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
        assert answers == {200: 40}
        children = Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split()
        spawned = [c for c in children
                   if "multiprocessing" in Path(f"/proc/{c}/cmdline").read_bytes().decode(
                       errors="replace")]
        assert len(spawned) >= 2, children
        assert health(url).status_code == 200
        assert serve.stop() in (0, -15), serve.text()[-3000:]
        wait_until(lambda: not roles(d), timeout_s=30,
                   what="both HTTP processes withdraw their heartbeats")


def test_push_attempts_continue_across_a_worker_killed_and_restarted(
    tmp_path: Path, pki_dirs: tuple[Path, Path],
) -> None:
    """A push endpoint that always fails: the worker's attempt count is in the database,
    so the worker started after a SIGKILL goes on counting (X-Axis-Attempt) instead of
    starting again at 1 with a fresh budget."""
    pki_dir, anchors = pki_dirs
    seen: list[int] = []

    class Failing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(int(self.headers["X-Axis-Attempt"]))
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    push = {"AXIS_PUSH__REQUIRE_HTTPS": "false", "AXIS_PUSH__BASE_DELAY_SECONDS": "0.1",
            "AXIS_PUSH__MAX_DELAY_SECONDS": "0.3", "AXIS_PUSH__MAX_ATTEMPTS": "50",
            "AXIS_PUSH__POLL_SECONDS": "0.1", "AXIS_PUSH__TIMEOUT_SECONDS": "2"}
    try:
        with deployment(tmp_path, anchors, EMBEDDED) as d:
            vp = d.node.registry.resolve(VP)
            d.node.registry.update(replace(vp, endpoint=f"http://127.0.0.1:"
                                           f"{server.server_address[1]}/nhan"),
                                   actor="test", reason="địa chỉ nhận văn bản")
            client(d, "http://unused", VP)  # a credential to key the push signature
            raw = TestNode(d.node, FixedClock(T0), pki_dir).document(UBND, (VP,), 900)[1]
            delivery_id = d.node.exchange.submit(raw).deliveries[0].delivery_id
            attempts = PushAttempts(d.node.store.engine)

            first = d.worker(**push)
            wait_until(lambda: len(seen) >= 3 or first.proc.poll() is not None,
                       timeout_s=120, what="three failed pushes")
            assert first.proc.poll() is None, first.text()[-3000:]
            first.kill()
            row = attempts.get(delivery_id)
            assert row is not None and row.attempts >= len(seen) >= 3
            spent, before = row.attempts, len(seen)

            second = d.worker(**push)
            wait_until(lambda: len(seen) > before or second.proc.poll() is not None,
                       timeout_s=120, what="a push from the restarted worker")
            assert second.proc.poll() is None, second.text()[-3000:]
            assert seen[before] == spent + 1, (seen, spent)  # the count went on
            assert seen[:before] == list(range(1, before + 1))  # one worker: in order
            assert second.stop() == 0
    finally:
        server.shutdown()
        server.server_close()
