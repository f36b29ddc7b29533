"""The push channel's attempt budget, in the database (issue 9, items 2-3).

Why here and not in memory: a worker that restarts must keep each delivery's attempt
count and back-off (a restart used to hand every failing copy a fresh budget), and two
worker processes must not POST the same copy at once.

A claim is one conditional UPDATE: `attempts + 1` and `next_attempt_at` moved past the
POST's own deadline, only WHERE `next_attempt_at <= now`. Of two workers racing for a
copy, the second finds the row already moved (PostgreSQL re-checks the WHERE after the
first commits; SQLite runs one writer at a time) and skips it. The attempt is counted
when it is claimed, so a worker killed mid-POST has spent that attempt too: the budget
only ever shrinks, and the lease expiring lets another worker carry on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, Select, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from adapters.store.process_tables import push_attempts as pa
from adapters.store.route_repo import READ_ONLY, serialise_sqlite_writes, translate
from adapters.store.route_tables import deliveries
from axis.route.channels.push import Attempts


class PushAttempts:
    """`PushAttemptStore` (axis/route/channels/push.py) on the `push_attempts` table."""

    def __init__(self, engine: Engine) -> None:
        serialise_sqlite_writes(engine)  # one writer at a time on SQLite, lock at BEGIN
        self._engine = engine

    def get(self, delivery_id: str) -> Attempts | None:
        rows = self.of([delivery_id])
        return rows.get(delivery_id)

    def of(self, delivery_ids: Iterable[str]) -> dict[str, Attempts]:
        ids = list(delivery_ids)
        if not ids:
            return {}
        rows = self._read(select(pa).where(pa.c.delivery_id.in_(ids)))
        return {r.delivery_id: Attempts(r.delivery_id, r.attempts, r.next_attempt_at,
                                        r.last_error) for r in rows}

    def claim(self, delivery_id: str, now: datetime, lease: timedelta) -> int | None:
        """The number of the attempt this caller may make now, or None when the copy is
        not due yet or another worker holds it."""
        try:
            with self._engine.begin() as conn:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(pa).values(
                            delivery_id=delivery_id, attempts=0, next_attempt_at=now,
                            last_error=""))
                except IntegrityError:
                    pass  # attempted before: the row decides
                claimed = conn.execute(
                    update(pa)
                    .where(and_(pa.c.delivery_id == delivery_id, pa.c.next_attempt_at <= now))
                    .values(attempts=pa.c.attempts + 1, next_attempt_at=now + lease)
                    .returning(pa.c.attempts)).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise translate(exc) from exc
        return None if claimed is None else int(claimed)

    def failed(self, delivery_id: str, *, due: datetime, error: str) -> None:
        """The claimed attempt failed: the next may start at `due`."""
        self._write(update(pa).where(pa.c.delivery_id == delivery_id)
                    .values(next_attempt_at=due, last_error=error[:300]))

    def forget(self, delivery_id: str) -> None:
        """Pushed, dead-lettered or requeued: the next attempt starts a fresh budget."""
        self._write(delete(pa).where(pa.c.delivery_id == delivery_id))

    def prune(self) -> None:
        """Drop the budgets of copies no longer waiting (taken by pull, withdrawn). Looks
        first without the write lock: most passes find nothing to drop."""
        waiting = select(deliveries.c.delivery_id).where(deliveries.c.state == "available")
        gone = [r.delivery_id for r in self._read(
            select(pa.c.delivery_id).where(pa.c.delivery_id.not_in(waiting)))]
        if gone:
            self._write(delete(pa).where(pa.c.delivery_id.in_(gone)))

    def _read(self, query: Select[Any]) -> Sequence[Row[Any]]:
        try:
            # A deferred (read-only) transaction on SQLite: no write lock for a look.
            with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn, \
                    conn.begin():
                return conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise translate(exc) from exc

    def _write(self, statement: object) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(statement)  # type: ignore[call-overload]
        except SQLAlchemyError as exc:
            raise translate(exc) from exc
