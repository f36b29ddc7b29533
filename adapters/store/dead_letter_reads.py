"""Dead letters for the operator (axis/app/operations.py `DeadLetterReads`): deliveries
in state `failed`, newest first, a page at a time, each with the trail's `failed` step
(when, which channel, how many attempts, the last error), read in one query per page."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.store.route_repo import READ_ONLY, translate
from adapters.store.route_tables import deliveries, trail
from axis.app.operations import DeadLetter
from axis.route.model import DeliveryState, TrailEvent

_FAILED = DeliveryState.FAILED.value


class SqlDeadLetterReads:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect().execution_options(**{READ_ONLY: True}) as c:
                yield c
        except SQLAlchemyError as exc:
            raise translate(exc) from exc

    def page(self, limit: int, offset: int) -> tuple[int, list[DeadLetter]]:
        d = deliveries.c
        with self._read() as conn:
            total = conn.execute(select(func.count()).select_from(deliveries)
                                 .where(d.state == _FAILED)).scalar_one()
            rows = conn.execute(select(deliveries).where(d.state == _FAILED)
                                .order_by(d.accepted_at.desc(), d.delivery_id)
                                .limit(limit).offset(offset)).all()
            return int(total), self._with_trail(conn, rows)

    def get(self, delivery_id: str) -> DeadLetter | None:
        d = deliveries.c
        with self._read() as conn:
            rows = conn.execute(select(deliveries).where(
                d.delivery_id == delivery_id, d.state == _FAILED)).all()
            found = self._with_trail(conn, rows)
        return found[0] if found else None

    @staticmethod
    def _with_trail(conn: Connection, rows: Sequence[Any]) -> list[DeadLetter]:
        if not rows:
            return []
        t = trail.c
        # By document first: the trail's index is (document_id, at, id).
        steps = conn.execute(
            select(t.delivery_id, t.at, t.detail)
            .where(t.document_id.in_(sorted({r.document_id for r in rows})),
                   t.delivery_id.in_([r.delivery_id for r in rows]),
                   t.event == TrailEvent.FAILED.value)
            .order_by(t.at, t.id)).all()
        last = {s.delivery_id: s for s in steps}  # the latest failure of each
        out = []
        for r in rows:
            step = last.get(r.delivery_id)
            out.append(DeadLetter(r.delivery_id, r.document_id, r.sender_id, r.recipient_id,
                                  r.accepted_at, step.at if step else None,
                                  step.detail if step else ""))
        return out
