"""`axis worker`: the node's background without HTTP (issue 9, docs/deployment.md).

One worker process runs the delivery loop (outbox → broker → inboxes, or straight from
the outbox on the embedded default), the push loop and the scheduled jobs (CRL refresh,
reconciliation, orphan collection …: adapters/jobs/catalog.py). Several may run on one
database and broker: the outbox is claimed with SKIP LOCKED (SQLite: one writer at a
time), consumers de-duplicate by delivery id, a push attempt is claimed in the database
(adapters/push/attempts.py), reconciliation is idempotent and orphan collection only
deletes bytes no row has referred to for an hour.

Health: the worker publishes its heartbeats to the database every few seconds
(adapters/jobs/fleet.py); the HTTP processes' /health/delivery and /metrics read them.
It stops on SIGTERM or SIGINT (Ctrl-C): loops finish their pass, heartbeats withdrawn.
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType
from typing import Any

from axis.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="run delivery, push and the node's jobs (no HTTP)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from adapters import logs
    from adapters.jobs.background import Background
    from adapters.jobs.catalog import needed
    from adapters.jobs.fleet import Fleet, HeartbeatTable
    from adapters.node import build_node
    from axis.clock import SystemClock

    logs.configure(fmt=settings.log_format, level=settings.log_level)
    log = logs.get_logger("axis.worker")
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    node = build_node(settings)
    try:
        clock = SystemClock()
        fleet = Fleet(HeartbeatTable(node.store.engine), role="worker",
                      needed=needed(node, settings))
        work = Background(node, health=fleet, clock=clock, settings=settings, role="worker",
                          fleet=fleet)
        work.start()
        log.info("worker started", process_id=fleet.process_id,
                 loops=[loop.name for loop in work.loops],
                 jobs=sorted(work.scheduler.jobs))
        try:
            while not stop.wait(1.0):
                pass
        finally:
            log.info("worker stopping", process_id=fleet.process_id)
            work.stop()
    finally:
        node.close()
    return 0
