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

Watchers (the backlog case, tools/bench/backlog.py): in the recipients' process, a
thread per agency that has copies to watch lists that agency's inbox (urgent first, a
short page, nothing taken) every `WATCH_PAUSE_S` until each watched document was seen:
the first listing by a watcher or a taker is the copy's "available" moment, so that a
taker busy with a page of a hundred normal copies does not delay it.

Both write their records to JSON files that the parent reads after the step. The
optional `ready` event of each tells the parent that its connections are built, and the
sender's optional `go` event holds its clock until the parent sets it.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx

from adapters.client.agency import AgencyApiError, AgencyClient

POLL_PAUSE_S = 0.02  # an idle recipient's pace between passes over its agencies
TIMEOUT_S = 300.0  # one request; a 45 MB package on a loaded machine included
WATCH_PAUSE_S = 0.02  # a watcher's pace between listings of one inbox
WATCH_PAGE = 20  # urgent copies list first: a short page finds them behind any backlog


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
    watch: tuple[tuple[str, str], ...] = ()  # (agency, document id) to watch for


def _clients(url: str, credentials: dict[str, tuple[str, str]]
             ) -> tuple[httpx.HTTPTransport, dict[str, AgencyClient]]:
    transport = httpx.HTTPTransport()  # one connection, whichever agency signs
    return transport, {agency: AgencyClient(url, sid, secret, timeout=TIMEOUT_S,
                                            transport=transport)
                       for agency, (sid, secret) in credentials.items()}


def send(plan: SendPlan, ready_event: Event | None = None, go_event: Event | None = None
         ) -> None:
    """The sender process: every package at most once, for `seconds` at most; with
    `go_event`, the clock starts when the parent sets it (after `ready_event`)."""
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
    if ready_event is not None:
        ready_event.set()
    if go_event is not None:
        go_event.wait()
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
         drain_until: Synchronized[float], ready_event: Event | None = None) -> None:
    """The recipients' process: list and take until every expected copy is taken (or the
    drain deadline passes) after the senders are done; watch `plan.watch` meanwhile."""
    agencies = sorted(plan.credentials)
    shares = [agencies[i::plan.threads] for i in range(plan.threads) if agencies[i::plan.threads]]
    records: list[dict[str, Any]] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    # document id → (first listed at, the node's available_at), for the watched ones.
    watched = {doc for _, doc in plan.watch}
    first_seen: dict[str, tuple[float, str]] = {}
    built = threading.Barrier(len(shares) + len({a for a, _ in plan.watch}) + 1)

    def finished() -> bool:
        if not senders_done.is_set():
            return False
        with lock:
            taken = len(records)
        return taken >= expected.value or time.time() > drain_until.value

    def seen(items: list[dict[str, Any]], at: float) -> None:
        with lock:
            for item in items:
                doc = str(item["document_id"])
                if doc in watched and doc not in first_seen:
                    first_seen[doc] = (at, str(item.get("available_at", "")))

    def worker(share: list[str]) -> None:
        transport, clients = _clients(plan.url, {a: plan.credentials[a] for a in share})
        built.wait()
        try:
            while not finished():
                moved = 0
                for agency in share:
                    moved += _take_agency(clients[agency], agency, records, errors, lock,
                                          seen)
                if not moved:
                    time.sleep(POLL_PAUSE_S)
        finally:
            transport.close()

    def watcher(agency: str, docs: set[str]) -> None:
        transport, clients = _clients(plan.url, {agency: plan.credentials[agency]})
        built.wait()
        try:
            while not finished():
                with lock:
                    if docs <= first_seen.keys():
                        return
                try:
                    page = clients[agency].pull_page(message_type="edoc", limit=WATCH_PAGE)
                except (AgencyApiError, httpx.HTTPError) as exc:
                    _count(errors, lock, f"watch:{getattr(exc, 'code', type(exc).__name__)}")
                else:
                    seen(page["items"], time.time())
                time.sleep(WATCH_PAUSE_S)
        finally:
            transport.close()

    by_agency: dict[str, set[str]] = {}
    for agency, doc in plan.watch:
        by_agency.setdefault(agency, set()).add(doc)
    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in shares]
    threads += [threading.Thread(target=watcher, args=(a, d), daemon=True)
                for a, d in sorted(by_agency.items())]
    for t in threads:
        t.start()
    built.wait()
    if ready_event is not None:
        ready_event.set()
    for t in threads:
        t.join()
    Path(plan.out).write_text(json.dumps({
        "records": records, "errors": errors,
        "watched": {doc: {"t_seen": t, "available_at": a} for doc, (t, a) in first_seen.items()},
    }))


def _take_agency(client: AgencyClient, agency: str, records: list[dict[str, Any]],
                 errors: dict[str, int], lock: threading.Lock,
                 listed: Callable[[list[dict[str, Any]], float], None]) -> int:
    try:
        page = client.pull_page(message_type="edoc", limit=100)
    except (AgencyApiError, httpx.HTTPError) as exc:
        _count(errors, lock, f"list:{getattr(exc, 'code', type(exc).__name__)}")
        return 0
    seen = time.time()
    listed(page["items"], seen)
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
                            "available_at": item.get("available_at", ""),
                            "t_taken": time.time()})
    return moved


def _count(errors: dict[str, int], lock: threading.Lock, key: str) -> None:
    with lock:
        errors[key] = errors.get(key, 0) + 1
