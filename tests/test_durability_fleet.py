"""Durability of a node made of several processes (issue 9, "must show"): the scenarios of
tests/test_durability.py run against the node as production runs it (docs/deployment.md),
`axis serve --no-background --workers 2` (two uvicorn HTTP processes on one port) and two
`axis worker` processes (relay, consumers, reconciliation, the scheduled jobs), on the
embedded default (SQLite in WAL mode under one data dir, the outbox delivered straight
into the inboxes by whichever worker passes first: several processes are supported
there) and on PostgreSQL + RabbitMQ.

A client of the agency API (threads, each request on a new connection so that both HTTP
processes take requests) sends pre-signed packages through `POST /v1/sendEdoc`; an answer
that never came (a killed HTTP process, a 5xx) is sent again later, as a client would.

- `test_fleet_sigkills_...`: at seeded random moments (answers read), a worker, both
  workers, or one HTTP process is killed with SIGKILL and replaced (systemd's
  `Restart=always`; uvicorn's supervisor restarts its HTTP process itself), while two
  client threads send every package, each in an interleaved order: the two HTTP processes
  keep meeting on the same package at the same moment (the two-node test's race).
- `test_fleet_broker_restart_...`: RabbitMQ stopped while the fleet accepts and delivers,
  kept away until the workers' delivery passes have failed against it (their heartbeats
  in the database say so) and the HTTP processes have accepted more meanwhile.
- `test_worker_killed_the_other_keeps_going`: two workers; one is SIGKILLed mid-stream
  and not replaced: the other delivers everything; then one HTTP process is SIGKILLed and
  the other answers until uvicorn's replacement is up; the dead worker's heartbeats stop
  counting once `FRESH_FOR` has passed (checked with an injected time on the real rows,
  not by waiting 30 s), and `axis audit verify` passes.

After each, `durability_support.audit`: every accepted package in every recipient's inbox
exactly once under the ids its receipt named, the same ids in every answer for one
package, nothing of a refused package anywhere, outbox and queues empty, no dead letter,
the journal verified and one `delivery.available` per delivery.

Push is off (`AXIS_PUSH__ENABLED=false`): the seed's push agency has an endpoint nobody
serves here; its copies wait in its inbox as the audit expects.

Run: .venv/bin/pytest tests/test_durability_fleet.py -s (prints the numbers of each run).
AXIS_DURABILITY_SEED and AXIS_DURABILITY_FLEET_PACKAGES as in test_durability.py.
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from durability_support import (
    BROKER_BACK_S,
    EMBEDDED,
    LINE_TIMEOUT_S,
    RABBIT_POSTGRES,
    RECIPIENTS,
    Expect,
    Log,
    World,
    answers,
    audit,
    elapsed,
    world,
    write_packages,
)
from exchange_support import SIGNERS, start_node
from process_support import REPO, Proc, established_connections
from service_support import wait_until
from sqlalchemy import func, select

from adapters.amqp.rabbit import RabbitBroker
from adapters.client.agency import AgencyApiError, AgencyClient
from adapters.jobs.catalog import needed
from adapters.jobs.fleet import FRESH_FOR, Fleet, HeartbeatTable
from adapters.store.process_tables import process_heartbeats as hb
from adapters.store.route_tables import deliveries
from axis.auth import keys, signing
from axis.health import Liveness

SEED = int(os.environ.get("AXIS_DURABILITY_SEED", "20261124"))
GOOD = int(os.environ.get("AXIS_DURABILITY_FLEET_PACKAGES", "") or 80)
BAD = 12
SETTLED_S = 120.0  # every accepted copy in its inbox after the traffic ended
GIVE_UP_S = 120.0  # a package answered with nothing but faults this long: the test fails
RETRY_PAUSE_S = 0.1  # pace of a client's retry after a fault (not a synchronisation)
HTTP_PROCESSES = 2
STARTUP = re.compile(r"Application startup complete")
BACKEND_PARAMS = [pytest.param(EMBEDDED, id=EMBEDDED),
                  pytest.param(RABBIT_POSTGRES, id=RABBIT_POSTGRES,
                               marks=pytest.mark.service)]

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, pki_dirs: tuple[Path, Path]
           ) -> tuple[Path, Path, dict[str, Expect]]:
    """The CA's anchors, and GOOD good plus 12 bad packages signed once for the module."""
    pki_dir, anchors = pki_dirs
    base = tmp_path_factory.mktemp("durability-fleet")
    signer = start_node(base / "signer", pki_dir, anchors)  # only its signing helpers
    try:
        expects = write_packages(signer, base / "packages", GOOD, BAD,
                                 random.Random(SEED + 10))
    finally:
        signer.node.close()
    return anchors, base / "packages", expects


# --- the node's processes --------------------------------------------------------------------

@dataclass
class Processes:
    """`axis serve --no-background --workers 2` and `axis worker`s on one world's data dir,
    database and broker prefix, as an operator starts them."""

    w: World
    serve: Proc | None = None
    workers: list[Proc] = field(default_factory=list)  # the live ones
    procs: list[Proc] = field(default_factory=list)  # every one started

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AXIS_")}
        if self.w.prefix:  # RabbitMQ names of this test; the embedded default has none
            env["AXIS_BROKER_PREFIX"] = self.w.prefix
        return env | {
            "AXIS_DATA_DIR": str(self.w.data_dir), "AXIS_DATABASE_URL": self.w.database_url,
            "AXIS_BROKER_URL": self.w.broker_url,
            "AXIS_TRUST__ANCHORS_DIR": str(self.w.anchors), "AXIS_LOG_FORMAT": "json",
            # A few senders send bursts: the agency rate limit is not what these test.
            "AXIS_REST__RATE_PER_MINUTE": "100000", "AXIS_REST__BURST": "10000",
            "AXIS_PUSH__ENABLED": "false",
        }

    def _start(self, name: str, *args: str) -> Proc:
        proc = Proc(f"{name}-{len(self.procs)}", list(args), self.env(),
                    self.w.tmp / f"{name}-{len(self.procs)}.log")
        self.procs.append(proc)
        return proc

    def start_serve(self) -> str:
        self.serve = self._start("serve", "serve", "--host", "127.0.0.1", "--port", "0",
                                 "--no-background", "--workers", str(HTTP_PROCESSES))
        return self.serve.url()

    def start_worker(self) -> Proc:
        proc = self._start("worker", "worker")
        self.workers.append(proc)
        return proc

    def http_pids(self) -> list[int]:
        """The uvicorn HTTP processes (the serve parent's spawned children)."""
        assert self.serve is not None
        pid = self.serve.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        out = []
        for child in children:
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:  # gone meanwhile
                continue
            if b"spawn_main" in cmdline:
                out.append(int(child))
        return sorted(out)

    def started_http(self) -> int:
        """HTTP processes that finished their start-up (and so take connections)."""
        assert self.serve is not None
        return len(STARTUP.findall(self.serve.text()))

    def ready(self, http_started: int = HTTP_PROCESSES) -> None:
        """Wait until `http_started` HTTP processes are up and every live worker publishes
        its heartbeats (its loops and jobs run)."""
        deadline = time.monotonic() + 120
        while not (self.started_http() >= http_started
                   and all(worker_id(p) in live_processes(self.w) for p in self.workers)):
            for proc in [self.serve, *self.workers]:
                assert proc is not None
                assert proc.proc.poll() is None, f"{proc.name} exited: {proc.text()[-3000:]}"
            if time.monotonic() > deadline:
                tails = "; ".join(f"{proc.name}: {proc.text()[-1500:]}"
                                  for proc in [self.serve, *self.workers] if proc)
                pytest.fail(f"the HTTP processes and the workers not up in 120 s: {tails}")
            time.sleep(0.05)  # polling the children's logs and rows; the deadline decides

    def kill_worker(self, proc: Proc) -> None:
        proc.kill()
        self.workers.remove(proc)

    def stop(self) -> None:
        """A clean stop of everything still running: workers exit 0, uvicorn re-raises."""
        for proc in self.workers:
            assert proc.stop() == 0, proc.text()[-3000:]
        self.workers.clear()
        if self.serve is not None:
            assert self.serve.stop() in (0, -15), self.serve.text()[-3000:]


@contextmanager
def processes(w: World) -> Iterator[Processes]:
    p = Processes(w)
    try:
        yield p
    finally:
        # uvicorn's HTTP processes first: SIGKILL of their parent alone leaves them running
        # (orphans still serving on the port and holding the data dir).
        if p.serve is not None and p.serve.proc.poll() is None:
            for pid in p.http_pids():
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for proc in p.procs:
            proc.kill()


def worker_id(proc: Proc) -> str:
    """The process id a worker publishes its heartbeats under (its start-up log line)."""
    for line in proc.text().splitlines():
        if '"worker started"' in line:
            return str(json.loads(line)["process_id"])
    return ""


def failed_passes(proc: Proc) -> int:
    """Delivery passes a worker logged as failed (axis/health.LoopGuard)."""
    return proc.text().count('"delivery pass failed')


def live_processes(w: World) -> set[str]:
    with w.audit.store.engine.connect() as conn:
        return set(conn.execute(select(hb.c.process_id).distinct()).scalars())


def last_report(w: World, process_id: str) -> datetime | None:
    with w.audit.store.engine.connect() as conn:
        at: datetime | None = conn.execute(select(func.max(hb.c.reported_at)).where(
            hb.c.process_id == process_id)).scalar_one()
    if at is not None and at.tzinfo is None:  # SQLite hands back naive UTC
        at = at.replace(tzinfo=UTC)
    return at


# --- the client ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Event:
    thread: int
    line: str  # a durability_node line: ACCEPTED / REFUSED / FAULT / GAVE-UP / DONE
    sent_at: float  # monotonic time the request was sent


class Traffic:
    """Client threads sending package files through the agency API, each in its own order;
    every answer is put on `events` as the line durability_node.py would print, parsed by
    `durability_support.Log`."""

    def __init__(self, w: World, url: str, expects: dict[str, Expect],
                 orders: Sequence[Sequence[str]]) -> None:
        self.w, self.url, self.expects = w, url, expects
        self.events: queue.Queue[Event] = queue.Queue()
        master = keys.master_key(w.audit.settings)
        self.credentials: dict[str, tuple[str, str]] = {}
        for agency in SIGNERS:
            issued = w.audit.registry.issue_credential(
                agency, actor="durability-test", reason="kết nối hệ thống QLVB",
                secret_for=lambda sid: signing.derive_secret(master, sid))
            self.credentials[agency] = (issued.credential.system_id, issued.secret)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n, order),
                                         name=f"traffic-{n}", daemon=True)
                        for n, order in enumerate(orders)]
        self.running = len(self.threads)

    def start(self) -> None:
        for th in self.threads:
            th.start()

    def _run(self, n: int, order: Sequence[str]) -> None:
        # A new connection per request: the kernel hands each to whichever HTTP process
        # accepts first, so both take requests and a kill lands on requests in flight.
        clients = {a: AgencyClient(self.url, sid, secret, timeout=LINE_TIMEOUT_S,
                                   transport=httpx.HTTPTransport(
                                       limits=httpx.Limits(max_keepalive_connections=0)))
                   for a, (sid, secret) in self.credentials.items()}
        pending = deque(order)
        failing_since: float | None = None
        try:
            while pending and not self.stop.is_set():
                name = pending.popleft()
                e = self.expects[name]
                raw = (self.w.packages / name).read_bytes()
                sent = time.monotonic()
                try:
                    receipt = clients[e.sender].send(raw)
                except AgencyApiError as exc:
                    if exc.status < 500:  # the sender's fault: never sent again
                        self.events.put(Event(n, f"REFUSED {name} {exc.code}", sent))
                        failing_since = None
                        continue
                    code = exc.code
                except httpx.TransportError as exc:  # a killed HTTP process: no answer
                    code = f"transport:{type(exc).__name__}"
                else:
                    by_recipient = {d["recipient"]: d["doc_id"] for d in receipt["deliveries"]}
                    ids = ([by_recipient[r] for r in e.recipients]
                           if set(by_recipient) == set(e.recipients)
                           else list(by_recipient.values()))  # the audit will say why
                    dup = " duplicate" if receipt["duplicate"] else ""
                    self.events.put(Event(n, f"ACCEPTED {name} {','.join(ids)}{dup}", sent))
                    failing_since = None
                    continue
                self.events.put(Event(n, f"FAULT {name} {code}", sent))
                pending.append(name)  # the client tries again later
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > GIVE_UP_S:
                    self.events.put(Event(n, f"GAVE-UP {name}", sent))
                    return
                self.stop.wait(RETRY_PAUSE_S)
        finally:
            for c in clients.values():
                c.close()
            self.events.put(Event(n, "DONE", time.monotonic()))

    def next(self, timeout_s: float = LINE_TIMEOUT_S) -> Event:
        event = self.poll(timeout_s)
        if event is None:
            pytest.fail(f"no answer for {timeout_s} s")
        return event

    def poll(self, timeout_s: float = 0.2) -> Event | None:
        """The next event if one comes within `timeout_s` (a deadline loop's step)."""
        try:
            event = self.events.get(timeout=timeout_s)
        except queue.Empty:
            return None
        assert not event.line.startswith("GAVE-UP"), event.line
        self.running -= event.line == "DONE"
        return event

    def close(self) -> None:
        self.stop.set()
        for th in self.threads:
            th.join(timeout=LINE_TIMEOUT_S)


def interleaved(order: list[str]) -> list[str]:
    """The order with each adjacent pair swapped (test_durability's two-node race)."""
    return [order[i ^ 1] if (i ^ 1) < len(order) else order[i] for i in range(len(order))]


# --- the end state ---------------------------------------------------------------------------

def accepted_ids(log: Log) -> set[str]:
    return {i for said in log.answers.values() for a in said if a.accepted for i in a.ids}


def backlog(w: World, ids: set[str]) -> int:
    """Copies of these accepted packages not yet in their inboxes."""
    if not ids:
        return 0
    with w.audit.store.engine.connect() as conn:
        done = conn.execute(select(func.count()).select_from(deliveries).where(
            deliveries.c.delivery_id.in_(ids), deliveries.c.state == "available")
        ).scalar_one()
    return len(ids) - int(done)


def settled(w: World, ids: set[str]) -> bool:
    """Every accepted copy in its inbox, the outbox empty and no message left queued."""
    if backlog(w, ids):
        return False
    with w.audit.store.transaction() as tx:
        if tx.pending_outbox():
            return False
    if w.rabbit:
        assert isinstance(w.audit.broker, RabbitBroker)
        return all(w.audit.broker.depth(a) == 0 for a in RECIPIENTS)
    return True


def wait_settled(w: World, log: Log) -> float:
    started = time.monotonic()
    ids = accepted_ids(log)
    wait_until(lambda: settled(w, ids), timeout_s=SETTLED_S,
               what=f"every accepted copy in its inbox (still {backlog(w, ids)} of "
                    f"{len(ids)} not)")
    return time.monotonic() - started


def read_all(traffic: Traffic, log: Log, until: Callable[[Event], bool] | None = None
             ) -> None:
    """Read answers until every thread is done (or `until` says so after an event)."""
    while traffic.running:
        event = traffic.next()
        log.take(event.line)
        if until is not None and until(event):
            return


# --- the tests -------------------------------------------------------------------------------

MOMENTS = ("worker", "worker", "workers", "http", "http")


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_fleet_sigkills_lose_and_duplicate_nothing(
    backend: str, tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    anchors, packages, expects = signed
    rng = random.Random(SEED + 11)
    first = sorted(expects)
    rng.shuffle(first)
    # Four clients, each package sent by two of them: a kill of an HTTP process finds
    # requests in flight, and the two HTTP processes race on the same packages.
    half = len(first) // 2
    orders = [first[:half], interleaved(first[:half]), first[half:], interleaved(first[half:])]
    answers_expected = len(first) * 2
    # Kill moments: answers read, spread over the run (every kill lands before its end).
    moments = list(MOMENTS)
    rng.shuffle(moments)
    at = sorted(rng.sample(range(10, int(answers_expected * 0.8)), len(moments)))
    plan = deque(zip(at, moments, strict=True))
    started = time.monotonic()
    log = Log()
    kills: list[str] = []
    in_flight: list[int] = []  # copies not yet in an inbox at each worker kill
    with world(tmp_path, anchors, packages, backend=backend) as w, processes(w) as p:
        url = p.start_serve()
        p.start_worker()
        p.start_worker()
        p.ready()
        up_s = time.monotonic() - started
        traffic = Traffic(w, url, expects, orders)
        traffic.start()
        try:
            answered = http_kills = 0
            while traffic.running:
                event = traffic.next()
                word = log.take(event.line)
                answered += word in {"ACCEPTED", "REFUSED"}
                while plan and answered >= plan[0][0]:
                    _, moment = plan.popleft()
                    if moment == "http":
                        # One of the two serving: the previous one's replacement is up.
                        p.ready(http_started=HTTP_PROCESSES + http_kills)
                        # The one holding the clients' connections: a kill of a
                        # process that serves nobody at that moment cuts nothing.
                        pids = p.http_pids()
                        victim = max(pids, key=lambda pid: (established_connections(pid),
                                                            rng.random()))
                        os.kill(victim, signal.SIGKILL)
                        http_kills += 1
                    else:
                        victims = (list(p.workers) if moment == "workers"
                                   else [rng.choice(p.workers)])
                        in_flight.append(backlog(w, accepted_ids(log)))
                        for proc in victims:
                            p.kill_worker(proc)
                        for _ in victims:  # systemd's Restart=always
                            p.start_worker()
                    kills.append(f"{moment}@{answered}")
        finally:
            traffic.close()
        assert not plan, f"kills not done: {plan}"
        settle_s = wait_settled(w, log)
        # Both HTTP processes killed were restarted by uvicorn, each worker replaced.
        p.ready(http_started=HTTP_PROCESSES + moments.count("http"))
        p.stop()
        result = audit(w, expects, log)
        for name, said in log.answers.items():
            if expects[name].good:  # one submission created the copies, at most
                assert sum(not a.duplicate for a in said) <= 1, (name, said)
        duplicates = sum(a.duplicate for said in log.answers.values() for a in said)
        print(f"\nfleet sigkill {backend} (seed {SEED + 11}): {len(expects)} packages sent "
              f"by {len(orders)} clients through {HTTP_PROCESSES} HTTP processes, "
              f"{result.deliveries} deliveries; kills {kills}; copies in flight at the "
              f"worker kills {in_flight}; {duplicates} duplicate receipts; faults "
              f"{dict(log.faults)}; settled {settle_s:.1f} s after the traffic; losses 0, "
              f"duplicates 0; {elapsed(started)} (processes up after {up_s:.1f} s)")
        assert any(in_flight), "no worker kill landed while copies were in flight"
        # Requests cut by an HTTP kill (not the 5xx of a race between the two clients).
        assert any(c.startswith("transport:") for c in log.fault_codes()), (
            "no HTTP kill cut a request")


@pytest.mark.service
def test_fleet_broker_restart_under_load_loses_and_duplicates_nothing(
    tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    from test_durability import rabbitmqctl

    anchors, packages, expects = signed
    rng = random.Random(SEED + 12)
    order = sorted(expects)
    rng.shuffle(order)
    stop_after = rng.randint(20, 40)  # answers read before the broker goes away
    started = time.monotonic()
    log = Log()
    # Exclusive: other test runs on this machine wait instead of seeing the broker vanish.
    with world(tmp_path, anchors, packages, exclusive_broker=True) as w, processes(w) as p:
        url = p.start_serve()
        workers = [p.start_worker(), p.start_worker()]
        p.ready()
        up_s = time.monotonic() - started
        traffic = Traffic(w, url, expects, [order[0::2], order[1::2]])
        traffic.start()
        try:
            read_all(traffic, log, until=lambda _: len(log.answers) >= stop_after)
            answered = len(log.answers)
            outage = time.monotonic()
            before = {proc.name: failed_passes(proc) for proc in workers}
            try:
                rabbitmqctl("stop_app")

                # The load goes on (accepting needs only the database): keep the broker
                # away until both workers' delivery passes failed against it (their logs
                # say so) and a backlog built up.
                deadline = time.monotonic() + 120
                while not (all(failed_passes(proc) > before[proc.name] for proc in workers)
                           and (len(log.answers) - answered >= 30 or not traffic.running)):
                    if (event := traffic.poll()) is not None:
                        log.take(event.line)
                    assert time.monotonic() < deadline, "the outage was never noticed"
                answered_in_outage = len(log.answers) - answered
            finally:
                rabbitmqctl("start_app")
            probe = RabbitBroker(w.broker_url, prefix=w.prefix)
            wait_until(lambda: answers(probe), timeout_s=BROKER_BACK_S,
                       what="RabbitMQ is back")
            probe.close()
            down = time.monotonic() - outage
            read_all(traffic, log)
        finally:
            traffic.close()
        settle_s = wait_settled(w, log)
        p.stop()  # the workers survived the outage: a clean exit
        result = audit(w, expects, log)
        print(f"\nfleet broker restart (seed {SEED + 12}): {len(expects)} packages through "
              f"{HTTP_PROCESSES} HTTP processes, 2 workers, {result.deliveries} deliveries; "
              f"stopped after {answered} answers, down {down:.1f} s, {answered_in_outage} "
              f"answered meanwhile; faults {dict(log.faults)}; settled {settle_s:.1f} s "
              f"after the traffic; losses 0, duplicates 0; {elapsed(started)} (processes up "
              f"after {up_s:.1f} s)")
        assert answered_in_outage >= 1


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_worker_killed_the_other_keeps_going(
    backend: str, tmp_path: Path, signed: tuple[Path, Path, dict[str, Expect]]
) -> None:
    anchors, packages, expects = signed
    rng = random.Random(SEED + 13)
    order = sorted(expects)
    rng.shuffle(order)
    total = len(order)
    kill_worker_at = rng.randint(total // 5, total // 3)
    kill_http_at = rng.randint(total // 2, 2 * total // 3)
    started = time.monotonic()
    log = Log()
    with world(tmp_path, anchors, packages, backend=backend) as w, processes(w) as p:
        url = p.start_serve()
        a, b = p.start_worker(), p.start_worker()
        p.ready()
        up_s = time.monotonic() - started
        a_id, b_id = worker_id(a), worker_id(b)
        traffic = Traffic(w, url, expects, [order[0::2], order[1::2]])
        traffic.start()
        try:
            # The worker first: A dies with copies in flight (accepted, not yet in their
            # inboxes: in the outbox, the queues or a pass of A's or B's), not replaced.
            in_flight = 0

            def copies_in_flight(_: Event) -> bool:
                nonlocal in_flight
                if len(log.answers) >= kill_worker_at:
                    in_flight = backlog(w, accepted_ids(log))
                return in_flight > 0

            read_all(traffic, log, until=copies_in_flight)
            killed_at = datetime.now(UTC)
            p.kill_worker(a)
            before_kill = accepted_ids(log)
            assert httpx.get(f"{url}/health/delivery", timeout=30).status_code == 200

            # Then one HTTP process: the other answers until uvicorn's replacement is up.
            read_all(traffic, log, until=lambda _: len(log.answers) >= kill_http_at)
            http_before = p.http_pids()
            victim = rng.choice(http_before)
            startups = p.started_http()
            os.kill(victim, signal.SIGKILL)
            http_killed = time.monotonic()
            by_survivor = 0  # sent after the kill, answered before a replacement took any

            def survivor_answered(event: Event) -> bool:
                nonlocal by_survivor
                if (event.line.startswith(("ACCEPTED", "REFUSED"))
                        and event.sent_at > http_killed and p.started_http() == startups):
                    by_survivor += 1
                return by_survivor >= 5

            read_all(traffic, log, until=survivor_answered)
            read_all(traffic, log)
        finally:
            traffic.close()
        after_kill = accepted_ids(log) - before_kill
        settle_s = wait_settled(w, log)
        assert p.workers == [b] and b.proc.poll() is None, b.text()[-3000:]
        p.ready(http_started=startups + 1)  # uvicorn replaced the killed process
        assert victim not in p.http_pids() and len(p.http_pids()) == HTTP_PROCESSES

        # The heartbeats: A's stopped at its death; B kept publishing after it.
        a_last = last_report(w, a_id)
        assert a_last is not None and a_last <= killed_at, (a_last, killed_at)
        wait_until(lambda: (last_report(w, b_id) or killed_at) > killed_at, timeout_s=60,
                   what="the surviving worker publishes its heartbeats after the kill")
        # Judged as the HTTP processes judge them, at the moment A's last report expires
        # (an injected time instead of a 30 s wait); B's rows are fresh at that moment.
        table = HeartbeatTable(w.audit.store.engine)
        expired = a_last + FRESH_FOR + timedelta(milliseconds=1)
        # Beside B only HTTP processes report, and no HTTP process runs the delivery loop:
        # a "delivery" beat of another process than B is A's.
        assert "delivery" in {beat.name for beat in table.others(b_id, a_last)}
        assert "delivery" not in {beat.name for beat in table.others(b_id, expired)}
        need = needed(w.audit, w.audit.settings)
        seen = {beat.name: beat for beat in Fleet(table, role="http", needed=need,
                                                  process_id="probe").status(expired)}
        assert seen["delivery"].state is not Liveness.DEAD, seen["delivery"]  # B's
        without_b = {beat.name: beat for beat in Fleet(table, role="http", needed=need,
                                                       process_id=b_id).status(expired)}
        assert without_b["delivery"].state is Liveness.DEAD, without_b["delivery"]
        assert without_b["delivery"].last_error == "no live process runs it"
        assert httpx.get(f"{url}/health/delivery", timeout=30).status_code == 200

        verify = subprocess.run([sys.executable, "-m", "adapters.cli", "audit", "verify"],
                                cwd=REPO, env=p.env(), capture_output=True, text=True,
                                timeout=120, check=False)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert json.loads(verify.stdout)["ok"] is True, verify.stdout
        p.stop()
        result = audit(w, expects, log)
        print(f"\nworker killed {backend} (seed {SEED + 13}): {len(expects)} packages, "
              f"{result.deliveries} deliveries; worker A killed after {kill_worker_at} "
              f"answers with {in_flight} copies in flight, {len(after_kill)} copies "
              f"accepted afterwards delivered by B alone; an HTTP process killed after "
              f"{kill_http_at}: {by_survivor} answers by the other before its replacement; "
              f"faults {dict(log.faults)}; settled {settle_s:.1f} s after the traffic; "
              f"A's last heartbeat {(killed_at - a_last).total_seconds():.1f} s before its "
              f"death, stale {FRESH_FOR} later; losses 0, duplicates 0; {elapsed(started)} "
              f"(processes up after {up_s:.1f} s)")
        assert in_flight > 0, "the worker was killed with nothing in flight"
        assert after_kill, "nothing was accepted after the worker's death"
        assert by_survivor >= 5

