"""The node's processes seen together: each publishes the heartbeats of its loops and jobs
(axis/health.py) to the database, and every process's probes and metrics read them back.

Why: with `axis serve --no-background` next to `axis worker` (issue 9), the HTTP process
that answers /health/delivery runs no loop itself; it must still say whether some process
delivers. Every process therefore rewrites its rows (`process_heartbeats`, one per loop or
job) every `PUBLISH_EVERY` as a scheduled job; a process that has not reported for
`FRESH_FOR` (killed, its machine gone) no longer counts, and its rows are deleted after
`FORGET_AFTER` by whichever process publishes next. A process that stops cleanly
withdraws its rows at once.

The merged view (`Fleet.status`, axis/health.merge): per loop or job, the best state any
live process reports; a loop or job the node needs that no live process runs is `dead`.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.logs import get_logger
from adapters.store.process_tables import process_heartbeats as hb
from adapters.store.route_repo import READ_ONLY, serialise_sqlite_writes, translate
from axis.health import Beat, Heartbeats, Liveness, merge

log = get_logger("axis.fleet")

PUBLISH_EVERY = timedelta(seconds=5)
FRESH_FOR = timedelta(seconds=30)  # six missed publications: the process is gone
FORGET_AFTER = timedelta(minutes=10)


def new_process_id() -> str:
    """Unique per process start: host, pid and a random tail (pids are reused)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class HeartbeatTable:
    """`process_heartbeats` on the node's (route store's) engine."""

    def __init__(self, engine: Engine) -> None:
        serialise_sqlite_writes(engine)
        self._engine = engine

    def publish(self, process_id: str, role: str, beats: Sequence[Beat], now: datetime
                ) -> None:
        rows = [{
            "process_id": process_id, "name": b.name[:64], "role": role, "kind": b.kind,
            "state": b.state.value,
            "expected_every_s": b.expected_every.total_seconds() if b.expected_every
            else None,
            "registered_at": b.registered_at, "last_success": b.last_success,
            "last_error_at": b.last_error_at, "last_error": b.last_error[:500],
            "last_error_id": b.last_error_id[:64], "failures": b.failures,
            "reported_at": now} for b in beats]
        try:
            with self._engine.begin() as conn:
                conn.execute(delete(hb).where(
                    (hb.c.process_id == process_id) | (hb.c.reported_at < now - FORGET_AFTER)))
                if rows:
                    conn.execute(insert(hb), rows)
        except SQLAlchemyError as exc:
            raise translate(exc) from exc

    def others(self, process_id: str, now: datetime) -> list[Beat]:
        """The beats of every other process that reported within `FRESH_FOR`."""
        query = select(hb).where(hb.c.process_id != process_id,
                                 hb.c.reported_at >= now - FRESH_FOR)
        try:
            # A deferred (read-only) transaction on SQLite: never queues behind a writer.
            with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn, \
                    conn.begin():
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise translate(exc) from exc
        return [Beat(
            r.name, r.kind,
            timedelta(seconds=r.expected_every_s) if r.expected_every_s is not None else None,
            r.registered_at, r.last_success, r.last_error_at, r.last_error, r.last_error_id,
            r.failures, 0, Liveness(r.state)) for r in rows]

    def withdraw(self, process_id: str) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(delete(hb).where(hb.c.process_id == process_id))
        except SQLAlchemyError as exc:
            raise translate(exc) from exc


class Fleet(Heartbeats):
    """This process's heartbeat registry (loops and jobs register and beat here as on any
    `Heartbeats`), whose `status` merges every live process's: what the probes and the
    metrics read. `own_status` is this process's alone: what it publishes."""

    def __init__(self, table: HeartbeatTable, *, role: str,
                 needed: Sequence[tuple[str, str]], process_id: str | None = None) -> None:
        super().__init__()
        self.table, self.role = table, role
        self.needed = tuple(needed)
        self.process_id = process_id or new_process_id()

    def own_status(self, now: datetime) -> tuple[Beat, ...]:
        return super().status(now)

    def status(self, now: datetime) -> tuple[Beat, ...]:
        try:
            others = self.table.others(self.process_id, now)
        except Exception as exc:  # the database is away: only what this process knows
            log.warning("heartbeats of other processes unreadable", error=str(exc)[:200],
                        rate_key="fleet:unreadable")
            others = []
        return merge(self.own_status(now), others, needed=self.needed, now=now)

    def publish(self, now: datetime) -> None:
        self.table.publish(self.process_id, self.role, self.own_status(now), now)

    def withdraw(self) -> None:
        try:
            self.table.withdraw(self.process_id)
        except Exception as exc:  # stopping anyway: the rows age out
            log.warning("heartbeats not withdrawn", error=str(exc)[:200])
