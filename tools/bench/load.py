"""The load: signed `POST /v1/sendEdoc` from a process of its own, and the simulated
recipients that list and take every copy, in another.

Senders: `concurrency` threads, one HTTP connection each (an `httpx.HTTPTransport` shared
by that thread's agency clients), either closed-loop (each thread sends its next package
as soon as the last receipt came back) or open-loop at `rate` packages a second (a
dispatcher releases package n at start + n/rate; latency counts from that moment, so a
node that falls behind is charged for the queue, not hidden by it).

Recipients: threads that each own a share of the recipient agencies and go round them:
`syncReceivedEdocList` (edoc only), then `getEdoc` for every item listed. The first time
an item is listed is its "available" moment. When a pass over its agencies finds nothing,
a thread pauses briefly (polling pace, as an agency system would).

Both write their records to JSON files that the parent reads after the step.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx

from adapters.client.agency import AgencyApiError, AgencyClient

POLL_PAUSE_S = 0.02  # an idle recipient's pace between passes over its agencies
TIMEOUT_S = 300.0  # one request; a 45 MB package on a loaded machine included


@dataclass(frozen=True, slots=True)
class SendPlan:
    url: str
    credentials: dict[str, tuple[str, str]]  # agency → (system id, secret)
    directory: str
    packages: list[tuple[str, str, str, bool]]  # file, sender, document id, urgent
    concurrency: int
    rate: float  # 0: closed loop
    seconds: float
    out: str


@dataclass(frozen=True, slots=True)
class TakePlan:
    url: str
    credentials: dict[str, tuple[str, str]]
    threads: int
    out: str


def _clients(url: str, credentials: dict[str, tuple[str, str]]
             ) -> tuple[httpx.HTTPTransport, dict[str, AgencyClient]]:
    transport = httpx.HTTPTransport()  # one connection, whichever agency signs
    return transport, {agency: AgencyClient(url, sid, secret, timeout=TIMEOUT_S,
                                            transport=transport)
                       for agency, (sid, secret) in credentials.items()}


def send(plan: SendPlan) -> None:
    """The sender process: every package at most once, for `seconds` at most."""
    bodies = [(Path(plan.directory) / f).read_bytes() for f, _, _, _ in plan.packages]
    jobs: queue.Queue[tuple[int, float] | None] = queue.Queue()
    records: list[dict[str, Any]] = []
    lock = threading.Lock()
    # The clock starts once every thread has built its clients (TLS contexts and all).
    ready = threading.Barrier(plan.concurrency + 1)
    go = threading.Event()
    window = {"start": 0.0, "end": 0.0}
    counter = iter(range(len(bodies)))

    def next_closed() -> tuple[int, float] | None:
        with lock:
            n = next(counter, None)
        now = time.time()
        return None if n is None or now >= window["end"] else (n, now)

    def worker() -> None:
        transport, clients = _clients(plan.url, plan.credentials)
        ready.wait()
        go.wait()
        try:
            while True:
                job = jobs.get() if plan.rate else next_closed()
                if job is None:
                    return
                n, t0 = job
                _, sender, document_id, urgent = plan.packages[n]
                rec: dict[str, Any] = {"document_id": document_id, "urgent": urgent,
                                       "t_submit": t0}
                try:
                    receipt = clients[sender].send(bodies[n])
                    rec["deliveries"] = len(receipt.get("deliveries", []))
                    rec["ok"] = not receipt.get("duplicate", False)
                except AgencyApiError as exc:
                    rec["ok"], rec["code"] = False, exc.code
                except httpx.HTTPError as exc:
                    rec["ok"], rec["code"] = False, f"transport:{type(exc).__name__}"
                rec["t_receipt"] = time.time()
                with lock:
                    records.append(rec)
        finally:
            transport.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(plan.concurrency)]
    for t in threads:
        t.start()
    ready.wait()
    start = window["start"] = time.time()
    end = window["end"] = start + plan.seconds
    go.set()
    if plan.rate:
        for n in range(len(bodies)):
            due = start + n / plan.rate
            if due >= end:
                break
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            jobs.put((n, due))
        for _ in threads:
            jobs.put(None)
    for t in threads:
        t.join()
    Path(plan.out).write_text(json.dumps({"start": start, "end": end,
                                          "exhausted": len(records) >= len(bodies),
                                          "records": records}))


def take(plan: TakePlan, senders_done: Event, expected: Synchronized[int],
         drain_until: Synchronized[float]) -> None:
    """The recipients' process: list and take until every expected copy is taken (or the
    drain deadline passes) after the senders are done."""
    agencies = sorted(plan.credentials)
    shares = [agencies[i::plan.threads] for i in range(plan.threads) if agencies[i::plan.threads]]
    records: list[dict[str, Any]] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()

    def finished() -> bool:
        if not senders_done.is_set():
            return False
        with lock:
            taken = len(records)
        return taken >= expected.value or time.time() > drain_until.value

    def worker(share: list[str]) -> None:
        transport, clients = _clients(plan.url, {a: plan.credentials[a] for a in share})
        try:
            while not finished():
                moved = 0
                for agency in share:
                    moved += _take_agency(clients[agency], agency, records, errors, lock)
                if not moved:
                    time.sleep(POLL_PAUSE_S)
        finally:
            transport.close()

    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    Path(plan.out).write_text(json.dumps({"records": records, "errors": errors}))


def _take_agency(client: AgencyClient, agency: str, records: list[dict[str, Any]],
                 errors: dict[str, int], lock: threading.Lock) -> int:
    try:
        page = client.pull_page(message_type="edoc", limit=100)
    except (AgencyApiError, httpx.HTTPError) as exc:
        _count(errors, lock, f"list:{getattr(exc, 'code', type(exc).__name__)}")
        return 0
    seen = time.time()
    moved = 0
    for item in page["items"]:
        try:
            client.get(str(item["doc_id"]))
        except (AgencyApiError, httpx.HTTPError) as exc:
            _count(errors, lock, f"get:{getattr(exc, 'code', type(exc).__name__)}")
            continue
        moved += 1
        with lock:
            records.append({"document_id": item["document_id"], "agency": agency,
                            "priority": item.get("priority", 0), "t_seen": seen,
                            "t_taken": time.time()})
    return moved


def _count(errors: dict[str, int], lock: threading.Lock, key: str) -> None:
    with lock:
        errors[key] = errors.get(key, 0) + 1
