"""SqlTrafficReads: the traffic reads of axis/app/traffic.py over SQLAlchemy Core.

Every read is a read-only transaction (a deferred BEGIN on SQLite: the console never
queues behind a writer, nor a writer behind the console). Aggregates are counted by the
database; what it cannot rank portably (the latency percentiles) is streamed, never
loaded as a table.

Buckets are Vietnam local hours and days: on SQLite times are stored as fixed-width
ISO 8601 strings in +07:00 (route_tables.Instant), so the bucket is a prefix of the
string; on PostgreSQL the instant is formatted in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Engine, cast, func, literal_column, or_, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.store.process_tables import push_attempts
from adapters.store.route_repo import READ_ONLY, SqlRouteTx, translate
from adapters.store.route_tables import deliveries, journal, packages
from axis.app.traffic import HOUR
from axis.app.traffic_values import DocumentView, MessageQuery, MessageRow, Waiting
from axis.edxml.model import Kind
from axis.route.model import Delivery, DeliveryState, StoredPackage, TransportState

REFUSED = "package.refused"  # axis/route/exchange.py journals every refusal so
_WAITING = (DeliveryState.QUEUED.value, DeliveryState.AVAILABLE.value)
_DELIVERY_COLUMNS = [c for c in deliveries.c]
# Grouped by the output column's name: the expression holds bound values (a time zone, a
# pattern), which PostgreSQL would not see as the same expression twice when the driver
# binds them on the server.
_BY_KEY: Any = literal_column("k")


def _bucket(column: Any, dialect: str, bucket: str) -> Any:
    if dialect == "sqlite":
        return func.substr(column, 1, 13 if bucket == HOUR else 10)
    pattern = 'YYYY-MM-DD"T"HH24' if bucket == HOUR else "YYYY-MM-DD"
    return func.to_char(func.timezone("Asia/Ho_Chi_Minh", column), pattern)


def _code(dialect: str) -> Any:
    if dialect == "sqlite":
        return func.json_extract(journal.c.payload, "$.code")
    return func.json_extract_path_text(cast(journal.c.payload, JSON), "code")


def _row(r: Any) -> MessageRow:
    m = r._mapping
    d = Delivery(**{c.name: m[c.name] for c in _DELIVERY_COLUMNS} | {
        "kind": Kind(m["kind"]), "state": DeliveryState(m["state"]),
        "transport_state": TransportState(m["transport_state"])})
    return MessageRow(d, m["attempts"], m["next_attempt_at"], m["last_error"] or "")


def _copies() -> Any:
    """Copies with their retry budget (push and peer forwarding share push_attempts)."""
    pa = push_attempts.c
    return (select(*_DELIVERY_COLUMNS, pa.attempts, pa.next_attempt_at, pa.last_error)
            .select_from(deliveries.outerjoin(
                push_attempts, pa.delivery_id == deliveries.c.delivery_id)))


class SqlTrafficReads:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn, \
                    conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise translate(exc) from exc

    def counts(self, since: datetime, bucket: str) -> tuple[dict[str, int], dict[str, int]]:
        p, j = packages.c, journal.c
        with self._reading() as conn:
            accepted = conn.execute(
                select(_bucket(p.received_at, self._dialect, bucket).label("k"), func.count())
                .where(p.received_at >= since).group_by(_BY_KEY)).all()
            refused = conn.execute(
                select(_bucket(j.at, self._dialect, bucket).label("k"), func.count())
                .where(j.kind == REFUSED, j.at >= since).group_by(_BY_KEY)).all()
        return ({str(k): int(n) for k, n in accepted}, {str(k): int(n) for k, n in refused})

    def refusals_by_code(self, since: datetime) -> dict[str, int]:
        j = journal.c
        with self._reading() as conn:
            rows = conn.execute(select(_code(self._dialect).label("k"), func.count())
                                .where(j.kind == REFUSED, j.at >= since)
                                .group_by(_BY_KEY)).all()
        return {str(c or "?"): int(n) for c, n in rows}

    def latencies(self, since: datetime) -> Iterator[tuple[str, float]]:
        d = deliveries.c
        with self._reading() as conn:
            rows = conn.execution_options(yield_per=1000).execute(
                select(d.accepted_at, d.delivered_at)
                .where(d.delivered_at >= since, d.origin == "sender"))
            for accepted, delivered in rows:
                yield delivered.strftime("%Y-%m-%d"), (delivered - accepted).total_seconds()

    def waiting(self, limit: int) -> list[Waiting]:
        d = deliveries.c
        n = func.count().label("n")
        with self._reading() as conn:
            rows = conn.execute(
                select(d.recipient_id, n, func.min(d.accepted_at).label("oldest"))
                .where(d.state.in_(_WAITING)).group_by(d.recipient_id)
                .order_by(n.desc(), d.recipient_id).limit(limit)).all()
        # min() keeps its column's type: `oldest` is read back through Instant.
        return [Waiting(str(agency), int(count), oldest) for agency, count, oldest in rows]

    def search(self, query: MessageQuery, agency_id: str) -> list[MessageRow]:
        d = deliveries.c
        q = _copies()
        if query.document_id:
            q = q.where(d.document_id == query.document_id)
        if query.delivery_id:
            q = q.where(d.delivery_id == query.delivery_id)
        if agency_id:
            q = q.where(or_(d.sender_id == agency_id, d.recipient_id == agency_id))
        if query.status_code:
            q = q.where(d.status_code == query.status_code)
        if query.business_type is not None:
            q = q.where(d.business_type == query.business_type)
        if query.priority is not None:
            q = q.where(d.priority == query.priority)
        if query.state:
            q = q.where(d.state == query.state)
        if query.since is not None:
            q = q.where(d.accepted_at >= query.since)
        if query.until is not None:
            q = q.where(d.accepted_at < query.until)
        q = (q.order_by(d.accepted_at.desc(), d.delivery_id)
             .offset(query.offset).limit(query.limit))
        with self._reading() as conn:
            return [_row(r) for r in conn.execute(q)]

    def document(self, document_id: str) -> DocumentView:
        d, p = deliveries.c, packages.c
        with self._reading() as conn:
            stored = [StoredPackage(**{**r._mapping, "kind": Kind(r.kind)})
                      for r in conn.execute(select(packages).where(p.document_id == document_id)
                                            .order_by(p.received_at, p.sha256))]
            copies = [_row(r) for r in conn.execute(
                _copies().where(d.document_id == document_id)
                .order_by(d.accepted_at, d.recipient_id, d.delivery_id))]
            trail = SqlRouteTx(conn).trail(document_id)
        return DocumentView(document_id, tuple(stored), tuple(copies), tuple(trail))

    def package(self, sha256: str) -> StoredPackage | None:
        with self._reading() as conn:
            r = conn.execute(select(packages).where(packages.c.sha256 == sha256)).first()
        return None if r is None else StoredPackage(**{**r._mapping, "kind": Kind(r.kind)})
