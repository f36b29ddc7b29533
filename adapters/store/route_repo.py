"""SqlRouteStore: the routing core's store port (axis/route/ports.py) over SQLAlchemy Core.

One `transaction()` is one database transaction on one Connection: committed when the
block ends normally, rolled back when it raises, so a step is all there or not at all.

Two node processes may share the database (issue 4). What keeps them apart:
- PostgreSQL (READ COMMITTED): unique keys (dedupe_key, inbox delivery_id, journal seq)
  settle races; `claim_outbox` uses FOR UPDATE SKIP LOCKED so relays take disjoint
  batches; journal appends lock nothing shared (the database numbers them) and only the
  sealer locks the `journal_head` row (route_journal.py).
- SQLite: every transaction starts with BEGIN IMMEDIATE (see `serialise_sqlite_writes`),
  so writers queue on the database lock (busy_timeout) for the whole step. A deferred
  BEGIN would let two transactions read, then both try to upgrade to the write lock: one
  gets SQLITE_BUSY at once, whatever the timeout. Pure reads (`journal()`) stay deferred.

SQLAlchemy exceptions never leave this module: `translate` turns them into node faults.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import datetime
from enum import Enum
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from adapters.store import route_journal
from adapters.store.route_journal import AnyRow
from adapters.store.route_tables import (
    arrivals_due,
    deliveries,
    inbox,
    journal,
    outbox,
    packages,
    trail,
)
from axis import errors
from axis.edxml.model import Kind
from axis.errors import AxisError
from axis.journal.audit import ChainReport, verify
from axis.journal.chain import GENESIS, JournalEntry
from axis.route.model import (
    Delivery,
    DeliveryState,
    InboxItem,
    OutboxEntry,
    StoredPackage,
    TrailEntry,
    TrailEvent,
    TransportState,
)

P = ParamSpec("P")
R = TypeVar("R")

READ_ONLY = "axis_read_only"  # execution option: a deferred BEGIN on SQLite
_SUPPORTED = ("sqlite", "postgresql")
# PostgreSQL SQLSTATEs that mean "someone else won, retry the step": unique violation,
# serialization failure, deadlock detected, lock not available.
_CONFLICT_STATES = {"23505", "40001", "40P01", "55P03"}
_CONFLICT_SQLITE = {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}


def translate(exc: SQLAlchemyError) -> AxisError:
    """The node fault for a database failure; only the driver's first line is kept (the
    full statement may hold package data and the detail can reach a sender)."""
    orig = getattr(exc, "orig", None)
    message = str(orig or exc).strip().splitlines()
    detail = f"{type(exc).__name__}: {message[0] if message else ''}"
    if (getattr(orig, "sqlstate", None) in _CONFLICT_STATES
            or getattr(orig, "sqlite_errorname", None) in _CONFLICT_SQLITE):
        return errors.STORE_CONFLICT.error(detail)
    return errors.STORE_UNAVAILABLE.error(detail)


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Translate SQLAlchemy exceptions raised by `fn` (the module boundary)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except SQLAlchemyError as exc:
            raise translate(exc) from exc

    return wrapper


def _no_driver_begin(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite (Python 3.11) would otherwise emit its own deferred BEGIN before DML only.
    dbapi_connection.isolation_level = None


def _begin(conn: Connection) -> None:
    raw: Any = conn.connection.dbapi_connection
    if raw.isolation_level is not None:  # pooled before the hook was installed
        raw.isolation_level = None
    mode = "DEFERRED" if conn.get_execution_options().get(READ_ONLY) else "IMMEDIATE"
    conn.exec_driver_sql(f"BEGIN {mode}")


def serialise_sqlite_writes(engine: Engine) -> None:
    """Make every transaction on a SQLite engine take the write lock at BEGIN. Idempotent;
    it affects every user of the engine, which is what a shared engine needs anyway."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "begin", _begin):
        event.listen(engine, "connect", _no_driver_begin)
        event.listen(engine, "begin", _begin)


def _values(obj: Any) -> dict[str, Any]:
    """A value object's fields as column values (the columns are named after the fields)."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        out[f.name] = v.value if isinstance(v, Enum) else v
    return out


def _package(row: AnyRow) -> StoredPackage:
    m = dict(row._mapping)
    return StoredPackage(**{**m, "kind": Kind(m["kind"])})


def _delivery(row: AnyRow) -> Delivery:
    m = dict(row._mapping)
    return Delivery(**{**m, "kind": Kind(m["kind"]), "state": DeliveryState(m["state"]),
                       "transport_state": TransportState(m["transport_state"])})


def _inbox_item(row: AnyRow) -> InboxItem:
    m = dict(row._mapping)
    return InboxItem(**{**m, "kind": Kind(m["kind"])})


def _trail_entry(row: AnyRow) -> TrailEntry:
    m = dict(row._mapping)
    del m["id"]
    return TrailEntry(**{**m, "event": TrailEvent(m["event"])})


# Statements on the hot path, built once (values as parameters: see _insert_absent_stmt).
_BY_DEDUPE = select(deliveries).where(deliveries.c.dedupe_key == bindparam("k"))
_BY_ID = select(deliveries).where(deliveries.c.delivery_id == bindparam("k"))
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()
_UPDATE_DELIVERY = update(deliveries).where(deliveries.c.delivery_id == bindparam("k"))
_CLEAR_ARRIVAL = arrivals_due.delete().where(arrivals_due.c.delivery_id == bindparam("k"))


@functools.cache
def _insert_absent_stmt(dialect: str, table: Table, key: str) -> Any:
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING key, built once per table: the
    values go in as parameters, so SQLAlchemy compiles it once and never walks a
    statement's values again (issue 9: statement building was a third of a submit's
    database time)."""
    make: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING rather than rowcount: SQLAlchemy reports -1 for an INSERT's rowcount.
    return make(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])


class SqlRouteTx:
    """RouteTx bound to one Connection inside its transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._dialect = conn.dialect.name

    def _insert_absent(self, table: Table, key: str, values: dict[str, Any]) -> bool:
        """True when a row was written. On PostgreSQL a concurrent insert of the same key
        waits for the other to commit."""
        stmt = _insert_absent_stmt(self._dialect, table, key)
        return self._conn.execute(stmt, values).first() is not None

    # --- packages ------------------------------------------------------------------
    @guarded
    def save_package(self, package: StoredPackage) -> None:
        self._insert_absent(packages, "sha256", _values(package))

    @guarded
    def get_package(self, sha256: str) -> StoredPackage | None:
        row = self._conn.execute(select(packages).where(packages.c.sha256 == sha256)).first()
        return _package(row) if row else None

    # --- deliveries ----------------------------------------------------------------
    @guarded
    def find_by_dedupe(self, dedupe_key: str) -> Delivery | None:
        row = self._conn.execute(_BY_DEDUPE, {"k": dedupe_key}).first()
        return _delivery(row) if row else None

    @guarded
    def add_delivery(self, delivery: Delivery) -> None:
        # A second copy with the same dedupe_key raises node.store_conflict: the step is
        # rolled back and, retried, finds the first copy and answers "duplicate".
        self._conn.execute(deliveries.insert(), _values(delivery))

    @guarded
    def get_delivery(self, delivery_id: str, *, for_update: bool = False) -> Delivery | None:
        # SQLite renders no FOR UPDATE: BEGIN IMMEDIATE already holds the lock.
        q = _BY_ID_FOR_UPDATE if for_update else _BY_ID
        row = self._conn.execute(q, {"k": delivery_id}).first()
        return _delivery(row) if row else None

    @guarded
    def update_delivery(self, delivery: Delivery) -> None:
        values = _values(delivery)
        values["k"] = values.pop("delivery_id")
        done = self._conn.execute(_UPDATE_DELIVERY, values)
        if done.rowcount != 1:
            raise errors.INTERNAL.error(f"update of unknown delivery {delivery.delivery_id}")

    @guarded
    def deliveries_of_document(
        self, sender_id: str, document_id: str, kind: Kind = Kind.EDOC
    ) -> list[Delivery]:
        d = deliveries.c
        rows = self._conn.execute(
            select(deliveries)
            .where(d.sender_id == sender_id, d.document_id == document_id,
                   d.kind == kind.value)
            .order_by(d.accepted_at, d.recipient_id, d.delivery_id))
        return [_delivery(r) for r in rows]

    @guarded
    def count_deliveries(self, state: DeliveryState | None = None) -> int:
        q = select(func.count()).select_from(deliveries)
        if state is not None:
            q = q.where(deliveries.c.state == state.value)
        return int(self._conn.execute(q).scalar_one())

    @guarded
    def deliveries_in_state(self, state: DeliveryState, recipients: Collection[str],
                            limit: int, since: datetime | None = None) -> list[Delivery]:
        d = deliveries.c
        if not recipients:
            return []
        where = [d.state == state.value, d.recipient_id.in_(sorted(recipients))]
        if since is not None:
            where.append(d.accepted_at >= since)
        rows = self._conn.execute(
            select(deliveries).where(*where)
            .order_by(d.accepted_at, d.delivery_id).limit(limit))
        return [_delivery(r) for r in rows]

    # --- reconciliation (axis/route/reconcile.py) -----------------------------------
    @guarded
    def stranded_deliveries(
        self, before: datetime, limit: int, recipients: Collection[str] | None
    ) -> list[Delivery]:
        d, o = deliveries.c, outbox.c
        unsent = (select(outbox.c.entry_id)
                  .where(o.delivery_id == d.delivery_id, o.sent_at.is_(None)).exists())
        q = select(deliveries).where(
            d.state == DeliveryState.QUEUED.value, d.accepted_at < before, ~unsent)
        if recipients is not None:
            q = q.where(d.recipient_id.in_(sorted(recipients)))
        rows = self._conn.execute(
            q.order_by(d.priority.desc(), d.accepted_at, d.delivery_id).limit(max(0, limit)))
        return [_delivery(r) for r in rows]

    @guarded
    def queued_since(self, before: datetime) -> dict[str, int]:
        d = deliveries.c
        rows = self._conn.execute(
            select(d.recipient_id, func.count())
            .where(d.state == DeliveryState.QUEUED.value, d.accepted_at < before)
            .group_by(d.recipient_id))
        return {str(r[0]): int(r[1]) for r in rows}

    @guarded
    def delivered_without_arrival(self, before: datetime, limit: int) -> list[Delivery]:
        # The copies whose 01 is still owed (arrivals_due: written with every take since
        # migration 0006, backfilled for older takes by 0007), taken before `before`: a
        # read of a table that holds only what the worker has not signed yet, instead
        # of a scan of every delivered copy once a minute.
        d, a = deliveries.c, arrivals_due.c
        rows = self._conn.execute(
            select(deliveries).join(arrivals_due, a.delivery_id == d.delivery_id)
            .where(a.taken_at < before)
            .order_by(a.taken_at, d.delivery_id)
            .limit(max(0, limit)))
        return [_delivery(r) for r in rows]

    # --- arrivals due (the node's 01, signed by a worker) ---------------------------
    @guarded
    def add_arrival_due(self, delivery_id: str, taken_at: datetime) -> None:
        self._insert_absent(arrivals_due, "delivery_id",
                            {"delivery_id": delivery_id, "taken_at": taken_at})

    @guarded
    def claim_arrivals_due(self, limit: int) -> list[tuple[str, datetime]]:
        a = arrivals_due.c
        q = (select(a.delivery_id, a.taken_at).order_by(a.taken_at, a.delivery_id)
             .limit(max(0, limit)).with_for_update(skip_locked=True))
        return [(str(r[0]), r[1]) for r in self._conn.execute(q)]

    @guarded
    def clear_arrival_due(self, delivery_id: str) -> None:
        self._conn.execute(_CLEAR_ARRIVAL, {"k": delivery_id})

    # --- outbox --------------------------------------------------------------------
    @guarded
    def add_outbox(
        self, delivery_id: str, agency_id: str, priority: int, body: bytes, at: datetime
    ) -> None:
        self._conn.execute(outbox.insert(), {
            "delivery_id": delivery_id, "agency_id": agency_id, "priority": priority,
            "body": body, "created_at": at, "sent_at": None})

    @guarded
    def claim_outbox(self, limit: int) -> list[OutboxEntry]:
        o = outbox.c
        q = (select(outbox).where(o.sent_at.is_(None))
             .order_by(o.priority.desc(), o.entry_id).limit(max(0, limit))
             .with_for_update(skip_locked=True))
        return [OutboxEntry(**dict(r._mapping)) for r in self._conn.execute(q)]

    @guarded
    def mark_sent(self, entry_ids: Sequence[int], at: datetime) -> None:
        if not entry_ids:
            return
        # Only unsent rows: a replayed mark keeps the first publication time.
        self._conn.execute(update(outbox).where(
            outbox.c.entry_id.in_(list(entry_ids)), outbox.c.sent_at.is_(None),
        ).values(sent_at=at))

    @guarded
    def pending_outbox(self) -> int:
        q = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        return int(self._conn.execute(q).scalar_one())

    # --- inbox ---------------------------------------------------------------------
    @guarded
    def add_to_inbox(self, item: InboxItem) -> bool:
        return self._insert_absent(inbox, "delivery_id", _values(item))

    @guarded
    def remove_from_inbox(self, delivery_id: str) -> bool:
        done = self._conn.execute(inbox.delete().where(inbox.c.delivery_id == delivery_id))
        return bool(done.rowcount)

    @guarded
    def list_inbox(
        self,
        agency_id: str | Sequence[str],
        *,
        kind: Kind | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[InboxItem]:
        """Urgent first, then by arrival; `since <= available_at < until` (half-open, so
        consecutive windows neither overlap nor leave a gap). Several agencies: one read."""
        i = inbox.c
        q = select(inbox).where(i.agency_id == agency_id if isinstance(agency_id, str)
                                else i.agency_id.in_(sorted(agency_id)))
        if kind is not None:
            q = q.where(i.kind == kind.value)
        if since is not None:
            q = q.where(i.available_at >= since)
        if until is not None:
            q = q.where(i.available_at < until)
        q = (q.order_by(i.priority.desc(), i.available_at, i.delivery_id)
             .offset(max(0, offset)).limit(max(0, limit)))
        return [_inbox_item(r) for r in self._conn.execute(q)]

    # --- trail ---------------------------------------------------------------------
    @guarded
    def add_trail(self, entry: TrailEntry) -> None:
        self._conn.execute(trail.insert(), _values(entry))

    @guarded
    def trail(self, document_id: str) -> list[TrailEntry]:
        t = trail.c
        rows = self._conn.execute(
            select(trail).where(t.document_id == document_id).order_by(t.at, t.id))
        return [_trail_entry(r) for r in rows]

    # --- journal -------------------------------------------------------------------
    @guarded
    def append_journal(
        self, at: datetime, kind: str, subject: str, payload: dict[str, object]
    ) -> JournalEntry:
        return route_journal.append(self._conn, at, kind, subject, payload)


class SqlRouteStore:
    """RouteStore over an engine from `adapters.store.db.make_engine`."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in _SUPPORTED:
            raise errors.CONFIG_INVALID.error(
                f"database {engine.dialect.name!r}: only SQLite and PostgreSQL are supported")
        self._engine = engine
        serialise_sqlite_writes(engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def transaction(self) -> Iterator[SqlRouteTx]:
        try:
            with self._engine.begin() as conn:
                yield SqlRouteTx(conn)
        except SQLAlchemyError as exc:  # begin, commit or rollback themselves failed
            raise translate(exc) from exc

    @contextmanager
    def reading(self) -> Iterator[SqlRouteTx]:
        """A read-only transaction: on SQLite a deferred BEGIN, so health probes and
        metrics never queue behind a writer holding the database lock."""
        try:
            with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn, \
                    conn.begin():
                yield SqlRouteTx(conn)
        except SQLAlchemyError as exc:
            raise translate(exc) from exc

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self._engine.connect().execution_options(**{READ_ONLY: True}) as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise translate(exc) from exc

    def journal(self, after_seq: int = 0) -> Iterator[JournalEntry]:
        """Page by page, each page its own short read: a long audit holds no snapshot
        (SQLite WAL could not checkpoint) and never blocks the writers."""
        last = after_seq
        while True:
            with self._reading() as conn:
                page = route_journal.page(conn, last)
            yield from page
            if len(page) < route_journal.PAGE:
                return
            last = page[-1].seq

    def journal_head(self) -> tuple[int, str]:
        """The seal head: the last seq the sealer chained and its link ((0, GENESIS)
        before any)."""
        with self._reading() as conn:
            h = route_journal.head(conn)
        return h.seq, h.hash

    def seal_journal(
        self, at: datetime, *, passes: int = 20, claim_gaps: bool = True
    ) -> route_journal.SealPass:
        """Chain committed entries (route_journal.seal_pass), batch after batch in short
        transactions, until caught up or `passes` batches are done. Safe from any number
        of processes at once: a sealer finding another at work returns `busy`.
        `claim_gaps=False`: never wait on a step in flight, stop at the first gap."""
        with self._reading() as conn:
            if route_journal.settled(conn):
                return route_journal.SealPass(head=route_journal.head(conn).seq)
        total = gaps = 0
        done = route_journal.SealPass()
        for _ in range(max(1, passes)):
            try:
                with self._engine.begin() as conn:
                    done = route_journal.seal_pass(conn, at, claim_gaps=claim_gaps)
            except SQLAlchemyError as exc:
                raise translate(exc) from exc
            total, gaps = total + done.sealed, gaps + done.gaps
            if not done.more:
                break
        return replace(done, sealed=total, gaps=gaps)

    def last_journal_entry(self, kind: str) -> JournalEntry | None:
        """The newest entry of one kind (a scan: for start-up checks, not hot paths)."""
        with self._reading() as conn:
            row = conn.execute(
                select(journal).where(journal.c.kind == kind)
                .order_by(journal.c.seq.desc()).limit(1)).first()
        return route_journal.entry_of(row) if row is not None else None

    def verify_journal(self, first: int | None = None, last: int | None = None
                       ) -> ChainReport:
        """The sealed chain link by link against the seal head, then the unsealed tail by
        each entry's own hash (axis/journal/audit.py); only seq `first` … `last` when
        given, walked from the link of the entry before `first`."""
        after = max(0, (first or 1) - 1)
        with self._reading() as conn:
            head = route_journal.head(conn)
            issued = route_journal.issued(conn)
            final = route_journal.gaps_final(conn)
            start = (after, (route_journal.link_at(conn, after) or GENESIS) if after
                     else GENESIS)
        entries: Iterable[JournalEntry] = self.journal(after)
        if last is not None:
            entries = itertools.takewhile(lambda e: e.seq <= last, entries)
        return verify(entries, head, sealed_after=lambda: self.journal_head()[0],
                      issued=issued, gaps_final=final, start=start, end=last)
