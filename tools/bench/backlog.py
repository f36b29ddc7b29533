"""The urgent-behind-a-backlog case (issue 9: "an urgent package behind 10,000 normal
ones waiting: submit → in inbox < 1 s", Art. 7.2).

With the node's `axis worker` processes stopped (SIGSTOP: they alone move the outbox to
the inboxes once serve runs `--no-background`; on the embedded default the worker drains
the outbox straight into the inboxes, with a broker it relays and consumes), the sender
submits `--backlog` normal packages, closed loop. The recipients' process (takers and a
watcher per urgent recipient, tools/bench/load.py) is started and ready; then the workers
are resumed (SIGCONT) and, at that moment, an open-loop sender submits `--backlog-urgent`
urgent packages (Priority 1) `--backlog-spacing` seconds apart, to recipients the backlog
also fills. Each urgent copy's submit → available is the first listing of it (a watcher
or a taker) less its scheduled submit moment. The node's own record is read beside it,
straight from its database (read only): each copy's `deliveries.available_at` (stamped
in the delivering transaction, visible at its commit), and the backlog's drain, the
last `available_at` of its copies less the resume moment; the bench also polls the
count of normal copies still queued every `DRAIN_POLL_S`, so the drain does not depend
on how fast the takers take (each take also makes the worker sign a status 01).

Stopping a process at an arbitrary instant could freeze it inside a transaction, and its
locks would stall the backlog's submissions (SQLite has one writer): after the SIGSTOP
the bench checks that no stopped worker holds one (SQLite: a write transaction can
begin; PostgreSQL: no session of the workers' sockets is idle in a transaction) and
otherwise lets it run on a moment and stops it again.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import sys
import threading
import time
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from tools.bench import load, node, packages, stats

BIG_WINDOW_S = 24 * 3600.0  # the backlog's sending ends when its packages run out
READY_TIMEOUT_S = 180.0
PAUSE_ATTEMPTS = 40
PG_PORT = 5432
URGENT_TARGET_S = 1.0  # issue 9 / Art. 7.2: submit → in the inbox under a second
DRAIN_POLL_S = 0.25


class Deliveries:
    """A read-only look at the node's `deliveries` table (adapters/store/route_tables.py):
    the bench's own connection, never the node's."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self._engine = create_engine(url)

    def queued_normal(self) -> int:
        from sqlalchemy import text

        with self._engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM deliveries WHERE state = 'queued' AND kind = 'edoc' "
                "AND priority = 0")).scalar_one())

    def available(self) -> list[tuple[str, int, float]]:
        """(document id, priority, available_at as a timestamp) of every edoc copy."""
        from sqlalchemy import text

        with self._engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT document_id, priority, available_at FROM deliveries "
                "WHERE kind = 'edoc' AND available_at IS NOT NULL")).all()
        return [(str(d), int(p), _instant(a)) for d, p, a in rows]

    def close(self) -> None:
        self._engine.dispose()


def _instant(value: object) -> float:
    # SQLite keeps the ISO text (microseconds, +07:00), PostgreSQL a timestamptz.
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value)).timestamp()


def _poll_drain(db: Deliveries, stop: threading.Event, got: dict[str, float]) -> None:
    while not stop.is_set():
        if db.queued_normal() == 0:
            got["drained_at"] = time.time()
            return
        stop.wait(DRAIN_POLL_S)


def package_count(backlog: int, urgent: int, share: float) -> int:
    """Packages to sign so that the set (urgent ones spread evenly, `share` of them, as
    packages.package_set makes it) holds `backlog` normal and `urgent` urgent ones."""
    if share <= 0:
        raise SystemExit("axis bench: --backlog takes its urgent packages from the signed "
                         "set: --urgent-share must be above 0")
    n = backlog + urgent
    while n - int(n * share) < backlog or int(n * share) < urgent:
        n += 1
    return n + 1  # float rounding of n * share must not leave one short


def split(pset: packages.PackageSet, backlog: int, urgent: int
          ) -> tuple[list[packages.Package], list[packages.Package]]:
    normal = [p for p in pset.packages if not p.urgent][:backlog]
    hurry = [p for p in pset.packages if p.urgent][:urgent]
    if len(normal) < backlog or len(hurry) < urgent:
        raise RuntimeError(f"the signed set has {len(normal)} normal and {len(hurry)} urgent "
                           f"packages; {backlog} and {urgent} needed")
    return normal, hurry


def recipients_of(p: packages.Package, recipients: int) -> tuple[str, ...]:
    """The recipients a package was signed for (its number is in its file name)."""
    return packages.recipients_of(int(p.file[1:7]) - 1, recipients)


def worker_pids(n: node.Node) -> list[int]:
    pids = [pid for pid, role in n.pids().items() if role.startswith("worker")]
    if not pids:
        raise SystemExit("axis bench: --backlog needs `axis worker` processes (serve "
                         "--no-background): with --worker-processes 0 serve runs the "
                         "delivery loop itself and cannot be paused without its HTTP")
    return pids


def run(n: node.Node, creds: dict[str, tuple[str, str]], pset: packages.PackageSet,
        args: Any, out: Path, takers: dict[str, tuple[str, str]], database_url: str,
        sqlite_path: Path | None) -> dict[str, Any]:
    normal, hurry = split(pset, int(args.backlog), int(args.backlog_urgent))
    conns = int(str(args.concurrency).split(",")[-1])
    workers = worker_pids(n)
    ctx = multiprocessing.get_context("spawn")
    result: dict[str, Any] = {"backlog": len(normal), "urgent": len(hurry),
                              "spacing_s": float(args.backlog_spacing), "connections": conns,
                              "worker_pids": workers}
    result["pause_attempts"] = pause(workers, sqlite_path)
    resumed, resumed_at = False, 0.0
    taker = None
    db = Deliveries(database_url)
    stop_poll, drained = threading.Event(), dict[str, float]()
    poller = threading.Thread(target=_poll_drain, args=(db, stop_poll, drained), daemon=True)
    try:
        paused_at = time.time()
        fill = load.SendPlan(n.url, {p.sender: creds[p.sender] for p in normal},
                             str(pset.directory), [_row(p) for p in normal], conns, 0.0,
                             BIG_WINDOW_S, str(out / "backlog-fill.json"))
        print(f"axis bench: backlog: {len(normal)} normal packages, workers stopped…",
              file=sys.stderr)
        _run(ctx.Process(target=load.send, args=(fill,)))
        fill_data = json.loads(Path(fill.out).read_text())
        result["fill"] = stats.sends(fill_data)
        result["paused_s_before_resume"] = time.time() - paused_at

        watch = tuple((r, p.document_id) for p in hurry
                      for r in recipients_of(p, int(args.recipients)))
        done, expected, until = ctx.Event(), ctx.Value("q", 0), ctx.Value("d", 0.0)
        taker_ready, sender_ready, go = ctx.Event(), ctx.Event(), ctx.Event()
        tplan = load.TakePlan(n.url, takers, min(int(args.takers), len(takers)),
                              str(out / "backlog-take.json"), watch)
        taker = ctx.Process(target=load.take, args=(tplan, done, expected, until,
                                                    taker_ready))
        taker.start()
        spacing = max(float(args.backlog_spacing), 1e-3)
        probe = load.SendPlan(n.url, {p.sender: creds[p.sender] for p in hurry},
                              str(pset.directory), [_row(p) for p in hurry],
                              min(len(hurry), 4), 1.0 / spacing, len(hurry) * spacing,
                              str(out / "backlog-urgent.json"))
        sender = ctx.Process(target=load.send, args=(probe, sender_ready, go))
        sender.start()
        for what, event in (("recipients", taker_ready), ("urgent sender", sender_ready)):
            if not event.wait(READY_TIMEOUT_S):
                raise RuntimeError(f"the {what} process did not get ready")
        cpu0 = {pid: node.cpu_seconds(pid) for pid in n.pids()}
        resume(workers)
        resumed = True
        resumed_at = time.time()
        go.set()
        poller.start()
        print("axis bench: backlog: workers resumed, urgent packages going…", file=sys.stderr)
        _run(sender)
        probe_data = json.loads(Path(probe.out).read_text())
        result["urgent_send"] = stats.sends(probe_data)
        fill_copies = int(result["fill"]["copies_accepted"])
        expected.value = fill_copies + int(result["urgent_send"]["copies_accepted"])
        until.value = time.time() + float(args.drain_seconds)
        done.set()
        taker.join()
        taken = json.loads(Path(tplan.out).read_text())
        stop_poll.set()
        poller.join()
        stamps = db.available()
        result["backlog_still_queued"] = db.queued_normal()
        pids = n.pids()
        result["cpu_seconds_by_process"] = {
            f"{pids[p]}:{p}": node.cpu_seconds(p) - cpu0.get(p, 0.0) for p in pids}
        result["peak_rss_mb"] = max((node.peak_rss_bytes(p) for p in pids),
                                    default=0) / (1024 * 1024)
    finally:
        stop_poll.set()
        db.close()
        if not resumed:
            resume(workers)
        if taker is not None and taker.is_alive():
            taker.kill()
            taker.join()
    result["resumed_at"] = resumed_at
    result["backlog_drain_s_polled"] = drained["drained_at"] - resumed_at \
        if "drained_at" in drained else None
    result.update(figures(fill_data, probe_data, taken, stamps, resumed_at))
    return result


def figures(fill: dict[str, Any], probe: dict[str, Any], taken: dict[str, Any],
            stamps: list[tuple[str, int, float]], resumed_at: float) -> dict[str, Any]:
    """Urgent copies: submit → available each; the backlog: its drain and latencies."""
    sent = {r["document_id"]: r for r in probe["records"] if r["ok"]}
    first: dict[str, float] = {doc: float(w["t_seen"]) for doc, w in taken["watched"].items()}
    for r in taken["records"]:
        if r["document_id"] in sent:
            first[r["document_id"]] = min(float(r["t_seen"]),
                                          first.get(r["document_id"], float("inf")))
    node_at = {doc: at for doc, _, at in stamps}
    urgent = []
    for doc, r in sorted(sent.items(), key=lambda kv: float(kv[1]["t_submit"])):
        seen, stamp = first.get(doc), node_at.get(doc)
        urgent.append({
            "document_id": doc, "submitted_after_resume_s": r["t_submit"] - resumed_at,
            "receipt_s": r["t_receipt"] - r["t_submit"],
            "available_s": None if seen is None else seen - r["t_submit"],
            "available_s_node": None if stamp is None else stamp - r["t_submit"],
        })
    seen_urgent = [u["available_s"] for u in urgent if u["available_s"] is not None]
    queued = {r["document_id"]: r for r in fill["records"] if r["ok"]}
    backlog_seen = [r for r in taken["records"] if r["document_id"] in queued]
    backlog_at = [at for doc, _, at in stamps if doc in queued]
    copies = sum(int(r.get("deliveries", 0)) for r in queued.values())
    return {
        "urgent_copies": urgent,
        "urgent_available": stats.percentiles(seen_urgent),
        "urgent_under_1s": sum(1 for v in seen_urgent if v < URGENT_TARGET_S),
        "urgent_not_seen": len(urgent) - len(seen_urgent),
        "backlog_copies": copies,
        "backlog_copies_taken": len(backlog_seen),
        "urgent_available_node": stats.percentiles(
            [u["available_s_node"] for u in urgent if u["available_s_node"] is not None]),
        # The node's own stamps: the drain does not wait for the takers. Observed: the
        # last first listing of a backlog copy by the takers.
        "backlog_drain_s": max(max(backlog_at) - resumed_at, 0.0) if backlog_at else None,
        "backlog_drain_s_observed": max(
            (float(r["t_seen"]) - resumed_at for r in backlog_seen), default=None),
        "backlog_drain_complete": len(backlog_at) >= copies > 0,
        "backlog_available_after_resume": stats.percentiles(
            [max(s - resumed_at, 0.0) for s in backlog_at]),
        "backlog_taken_after_resume": stats.percentiles(
            [max(float(r["t_taken"]) - resumed_at, 0.0) for r in backlog_seen]),
        "takes_per_s": len(taken["records"]) / max(
            max((float(r["t_taken"]) for r in taken["records"]), default=resumed_at)
            - resumed_at, 1e-9),
        "take_errors": taken["errors"],
    }


def pause(pids: list[int], sqlite_path: Path | None) -> int:
    """SIGSTOP the workers at a moment none holds a transaction; returns the retries."""
    for attempt in range(PAUSE_ATTEMPTS):
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        _wait_state(pids, "T")
        if _no_transaction(pids, sqlite_path):
            return attempt
        resume(pids)
        time.sleep(0.05)  # let the worker finish its transaction: a pace, not a sync
    raise RuntimeError("the workers always held a transaction when stopped")


def resume(pids: list[int]) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def _wait_state(pids: list[int], state: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_state(p) in (state, "") for p in pids):
            return
        time.sleep(0.01)  # the kernel delivers SIGSTOP asynchronously
    raise RuntimeError(f"worker processes {pids} did not stop")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def _no_transaction(pids: list[int], sqlite_path: Path | None) -> bool:
    if sqlite_path is not None:
        lite = sqlite3.connect(sqlite_path, timeout=1.0)
        try:
            lite.execute("BEGIN IMMEDIATE")
            lite.rollback()
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            lite.close()
    ports = _pg_client_ports(pids)
    if not ports:
        return True
    from sqlalchemy import create_engine, text

    engine = create_engine(node.POSTGRES_URL)
    try:
        with engine.connect() as conn:
            busy = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE client_port = ANY(:ports) "
                "AND state <> 'idle'"),
                {"ports": sorted(ports)}).scalar_one()
    finally:
        engine.dispose()
    return int(busy) == 0


def _pg_client_ports(pids: list[int]) -> set[int]:
    """Local ports of the processes' TCP connections to PostgreSQL (/proc/PID/fd and
    /proc/PID/net/tcp, IPv4 and IPv6)."""
    ports: set[int] = set()
    for pid in pids:
        inodes = set()
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
        for table in ("tcp", "tcp6"):
            try:
                lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                f = line.split()
                local, remote, inode = f[1], f[2], f[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == PG_PORT:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def _row(p: packages.Package) -> tuple[str, str, str, bool]:
    return (p.file, p.sender, p.document_id, p.urgent)


def _run(proc: multiprocessing.process.BaseProcess) -> None:
    if not proc.is_alive() and proc.exitcode is None:
        proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"a load process failed (exit {proc.exitcode})")
