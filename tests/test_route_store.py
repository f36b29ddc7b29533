"""Contract tests of SqlRouteStore: one body, run on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from route_support import (
    BACKENDS,
    RECIPIENT,
    SENDER,
    SHA,
    T0,
    delivery,
    engine_for,
    item,
    package,
    route_store,
    seconds,
)
from sqlalchemy import MetaData, Table, inspect
from store_support import migrated_engine

from adapters.store import migrate
from adapters.store.db import make_engine, metadata
from adapters.store.route_repo import SqlRouteStore, SqlRouteTx
from adapters.store.route_tables import ROUTE_TABLES
from axis.clock import VN_TZ
from axis.edxml.model import Kind
from axis.errors import NodeFault
from axis.route.model import (
    DeliveryState,
    TrailEntry,
    TrailEvent,
    TransportState,
)
from axis.route.ports import RouteStore, RouteTx


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlRouteStore]:
    with route_store(request.param, tmp_path) as s:
        yield s


def seed(tx: SqlRouteTx, *ids: str, **kw: object) -> None:
    tx.save_package(package())
    for i in ids:
        tx.add_delivery(delivery(i, **kw))  # type: ignore[arg-type]


def test_implements_the_store_port(store: SqlRouteStore) -> None:
    port: RouteStore = store  # checked by mypy: the Protocols of axis/route/ports.py
    with port.transaction() as tx:
        typed: RouteTx = tx
        assert typed.pending_outbox() == 0


# --- packages and deliveries ---------------------------------------------------------
def test_save_package_is_idempotent(store: SqlRouteStore) -> None:
    with store.transaction() as tx:
        tx.save_package(package())
        tx.save_package(package())  # same sha256: stored once, no error
    with store.transaction() as tx:
        tx.save_package(replace(package(), size=1))  # a later copy changes nothing
        assert tx.get_package(SHA) == package()
        assert tx.get_package("b" * 64) is None


def test_delivery_round_trips_exactly(store: SqlRouteStore) -> None:
    d = replace(delivery("d1"), available_at=T0 + seconds(1.5),
                delivered_at=datetime(2024, 5, 6, 2, 0, tzinfo=UTC),  # 09:00 in Hà Nội
                effective_at=datetime(2024, 5, 6, 13, 30), status_code="01")  # naive: VN
    with store.transaction() as tx:
        seed(tx)
        tx.add_delivery(d)
    with store.transaction() as tx:
        got = tx.get_delivery("d1", for_update=True)
    assert got == replace(d, effective_at=datetime(2024, 5, 6, 13, 30, tzinfo=VN_TZ))
    assert got is not None and got.delivered_at is not None and got.effective_at is not None
    assert got.accepted_at.utcoffset() == seconds(7 * 3600)
    assert got.delivered_at.isoformat() == "2024-05-06T09:00:00+07:00"
    assert got.effective_at.isoformat() == "2024-05-06T13:30:00+07:00"


def test_dedupe_key_is_unique(store: SqlRouteStore) -> None:
    with store.transaction() as tx:
        seed(tx, "d1")
        assert tx.find_by_dedupe(delivery("d1").dedupe_key) == delivery("d1")
        assert tx.find_by_dedupe("nope") is None
    with pytest.raises(NodeFault) as caught, store.transaction() as tx:
        tx.add_delivery(replace(delivery("d1"), delivery_id="d2"))
    assert caught.value.code.id == "node.store_conflict"
    with store.transaction() as tx:
        assert tx.get_delivery("d2") is None
        assert tx.count_deliveries() == 1


def test_update_delivery(store: SqlRouteStore) -> None:
    with store.transaction() as tx:
        seed(tx, "d1")
    with store.transaction() as tx:
        d = tx.get_delivery("d1", for_update=True)
        assert d is not None
        tx.update_delivery(replace(d, state=DeliveryState.DELIVERED, delivered_at=T0,
                                   effective_at=T0, transport_state=TransportState.DONE))
    with store.transaction() as tx:
        got = tx.get_delivery("d1")
        assert got is not None
        assert (got.state, got.delivered_at, got.transport_state) == (
            DeliveryState.DELIVERED, T0, TransportState.DONE)
        assert tx.count_deliveries(DeliveryState.DELIVERED) == 1
        assert tx.count_deliveries(DeliveryState.QUEUED) == 0
        with pytest.raises(NodeFault):
            tx.update_delivery(delivery("ghost"))


def test_deliveries_of_document(store: SqlRouteStore) -> None:
    with store.transaction() as tx:
        seed(tx)
        tx.add_delivery(delivery("late", recipient="R3", at=T0 + seconds(60)))
        tx.add_delivery(delivery("b", recipient="R2"))
        tx.add_delivery(delivery("a", recipient="R1"))
        tx.add_delivery(delivery("other", document_id="doc-2"))
        tx.add_delivery(delivery("status", kind=Kind.STATUS))
    with store.transaction() as tx:
        ids = [d.delivery_id for d in tx.deliveries_of_document(SENDER, "doc-1")]
        assert ids == ["a", "b", "late"]  # oldest first, then by recipient
        status = tx.deliveries_of_document(SENDER, "doc-1", Kind.STATUS)
        assert [d.delivery_id for d in status] == ["status"]
        assert tx.deliveries_of_document("someone", "doc-1") == []
        assert tx.count_deliveries() == 5


# --- outbox --------------------------------------------------------------------------
def test_outbox_claim_order_mark_sent_and_pending(store: SqlRouteStore) -> None:
    with store.transaction() as tx:
        seed(tx, "d1", "d2", "d3", "d4")
        for i, prio in (("d1", 0), ("d2", 2), ("d3", 0), ("d4", 2)):
            tx.add_outbox(i, RECIPIENT, prio, i.encode(), T0)
    with store.transaction() as tx:
        assert tx.pending_outbox() == 4
        first = tx.claim_outbox(3)
        assert [e.delivery_id for e in first] == ["d2", "d4", "d1"]  # urgent, then oldest
        assert first[0].body == b"d2" and first[0].created_at == T0
        assert first[0].sent_at is None
        tx.mark_sent([e.entry_id for e in first], T0 + seconds(5))
    with store.transaction() as tx:
        assert tx.pending_outbox() == 1
        rest = tx.claim_outbox(10)
        assert [e.delivery_id for e in rest] == ["d3"]
        tx.mark_sent([first[0].entry_id, rest[0].entry_id], T0 + seconds(9))
        tx.mark_sent([], T0)
    with store.transaction() as tx:
        assert tx.pending_outbox() == 0
        assert tx.claim_outbox(10) == []


def test_concurrent_claimers_get_disjoint_batches(store: SqlRouteStore) -> None:
    """Two relays at once (threads, each its own connection): PostgreSQL skips the rows
    the other holds, SQLite queues the second behind the first. No entry twice."""
    ids = [f"d{i:02}" for i in range(20)]
    with store.transaction() as tx:
        seed(tx, *ids)
        for i in ids:
            tx.add_outbox(i, RECIPIENT, 0, b"x", T0)
    claimed: list[list[str]] = []
    both_in = threading.Barrier(2, timeout=10) if store.engine.dialect.name != "sqlite" \
        else None

    def relay() -> None:
        with store.transaction() as tx:
            batch = tx.claim_outbox(8)
            if both_in:
                both_in.wait()  # PostgreSQL: both hold their locked batch at once
            tx.mark_sent([e.entry_id for e in batch], T0)
            claimed.append([e.delivery_id for e in batch])

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(claimed) == 2 and all(len(b) == 8 for b in claimed)
    assert not set(claimed[0]) & set(claimed[1])
    with store.transaction() as tx:
        assert tx.pending_outbox() == 4


@pytest.mark.service
def test_postgres_skip_locked_two_connections(tmp_path: Path) -> None:
    with route_store("postgresql", tmp_path) as store:
        with store.transaction() as tx:
            seed(tx, "d1", "d2", "d3")
            for i in ("d1", "d2", "d3"):
                tx.add_outbox(i, RECIPIENT, 0, b"x", T0)
        with store.transaction() as one, store.transaction() as two:
            a = [e.delivery_id for e in one.claim_outbox(2)]
            b = [e.delivery_id for e in two.claim_outbox(2)]  # does not wait: skips
        assert (a, b) == (["d1", "d2"], ["d3"])


# --- inbox ---------------------------------------------------------------------------
def test_inbox_insert_is_idempotent_by_delivery_id(store: SqlRouteStore) -> None:
    with store.transaction() as tx:
        seed(tx, "d1")
        assert tx.add_to_inbox(item("d1")) is True
        assert tx.add_to_inbox(replace(item("d1"), priority=3)) is False
    with store.transaction() as tx:
        assert tx.add_to_inbox(item("d1", at=T0 + seconds(1))) is False
        assert tx.list_inbox(RECIPIENT) == [item("d1")]  # unchanged
        assert tx.remove_from_inbox("d1") is True
        assert tx.remove_from_inbox("d1") is False
        assert tx.list_inbox(RECIPIENT) == []


def test_urgent_comes_first_even_after_500_ordinary(store: SqlRouteStore) -> None:
    ids = [f"n{i:03}" for i in range(500)]
    with store.transaction() as tx:
        seed(tx, *ids, "urgent")
        for n, i in enumerate(ids):
            tx.add_to_inbox(item(i, at=T0 + seconds(n)))
        tx.add_to_inbox(item("urgent", priority=2, at=T0 + seconds(600)))
    with store.transaction() as tx:
        listed = tx.list_inbox(RECIPIENT, limit=1000)
    assert len(listed) == 501
    assert listed[0].delivery_id == "urgent"
    assert [i.delivery_id for i in listed[1:]] == ids  # then by arrival


def test_inbox_filters_and_paging(store: SqlRouteStore) -> None:
    with store.transaction() as tx:
        seed(tx, "a", "b", "c", "d", "s", "x")
        tx.add_to_inbox(item("a", at=T0))
        tx.add_to_inbox(item("b", at=T0 + seconds(10)))
        tx.add_to_inbox(item("c", at=T0 + seconds(10)))  # same time: by delivery id
        tx.add_to_inbox(item("d", at=T0 + seconds(20)))
        tx.add_to_inbox(item("s", kind=Kind.STATUS, at=T0 + seconds(5)))
        tx.add_to_inbox(item("x", agency="someone-else"))
    with store.transaction() as tx:
        def ids(**kw: object) -> list[str]:
            return [i.delivery_id for i in tx.list_inbox(RECIPIENT, **kw)]  # type: ignore[arg-type]

        assert ids() == ["a", "s", "b", "c", "d"]
        assert ids(kind=Kind.EDOC) == ["a", "b", "c", "d"]
        assert ids(kind=Kind.STATUS) == ["s"]
        assert ids(since=T0 + seconds(10)) == ["b", "c", "d"]  # since: inclusive
        assert ids(until=T0 + seconds(10)) == ["a", "s"]  # until: exclusive
        # The same instant written in UTC selects the same rows.
        assert ids(since=(T0 + seconds(10)).astimezone(UTC)) == ["b", "c", "d"]
        assert ids(offset=1, limit=2) == ["s", "b"]
        assert ids(offset=4, limit=10) == ["d"]
        assert ids(offset=5) == []
        assert ids(limit=0) == []


# --- trail ---------------------------------------------------------------------------
def test_trail_in_the_order_things_happened(store: SqlRouteStore) -> None:
    entries = [
        TrailEntry("doc-1", SENDER, TrailEvent.RECEIVED, T0, "d1"),
        TrailEntry("doc-1", RECIPIENT, TrailEvent.AVAILABLE, T0 + seconds(1), "d1"),
        TrailEntry("doc-1", RECIPIENT, TrailEvent.DELIVERED, T0 + seconds(2), "d1",
                   effective_at=T0 + seconds(3600), detail="nhận / taken"),
        TrailEntry("doc-1", RECIPIENT, TrailEvent.STATUS, T0 + seconds(2), None,
                   status_code="03"),
    ]
    with store.transaction() as tx:
        tx.add_trail(entries[3])  # recorded first, at the same instant as entries[2]
        for e in entries[:3]:
            tx.add_trail(e)
        tx.add_trail(TrailEntry("doc-2", SENDER, TrailEvent.REFUSED, T0))
    with store.transaction() as tx:
        got = tx.trail("doc-1")
    # By time; at the same instant, in the order they were recorded.
    assert got == [entries[0], entries[1], entries[3], entries[2]]


# --- transactions and failures -------------------------------------------------------
def test_rollback_on_exception_leaves_nothing(store: SqlRouteStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        seed(tx, "d1")
        tx.add_outbox("d1", RECIPIENT, 0, b"x", T0)
        tx.add_to_inbox(item("d1"))
        tx.add_trail(TrailEntry("doc-1", SENDER, TrailEvent.RECEIVED, T0, "d1"))
        tx.append_journal(T0, "package.accepted", SHA, {"n": 1})
        raise RuntimeError("crash before commit")
    with store.transaction() as tx:
        assert tx.get_package(SHA) is None
        assert tx.get_delivery("d1") is None
        assert tx.pending_outbox() == 0
        assert tx.list_inbox(RECIPIENT) == []
        assert tx.trail("doc-1") == []
    assert list(store.journal()) == []


def test_database_failures_are_node_faults(tmp_path: Path) -> None:
    nowhere = SqlRouteStore(make_engine("postgresql+psycopg://postgres@127.0.0.1:9/none"))
    with pytest.raises(NodeFault) as caught, nowhere.transaction() as tx:
        tx.pending_outbox()
    assert caught.value.code.id == "node.store_unavailable"
    empty = SqlRouteStore(make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))
    with pytest.raises(NodeFault) as caught, empty.transaction() as tx:
        tx.pending_outbox()  # no tables: never migrated
    assert caught.value.code.id == "node.store_unavailable"
    with pytest.raises(NodeFault):
        list(empty.journal())


def test_sqlite_transactions_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a second writer waits at its start (busy_timeout) instead of
    failing at once with SQLITE_BUSY when both try to upgrade a read lock."""
    with engine_for("sqlite", tmp_path) as engine:
        store = SqlRouteStore(engine)
        SqlRouteStore(engine)  # a second store on the engine: hooks not doubled
        with store.transaction() as tx:
            raw = tx._conn.connection.dbapi_connection
            assert raw is not None and raw.in_transaction  # before any statement
            probe = make_engine(f"sqlite:///{tmp_path / 'axis-test.sqlite3'}")
            with probe.connect() as other:
                other.exec_driver_sql("PRAGMA busy_timeout=0")
                with pytest.raises(Exception, match="locked"):
                    other.exec_driver_sql("BEGIN IMMEDIATE")
            probe.dispose()


# --- migrations ----------------------------------------------------------------------
ROUTE_NAMES = {t.name for t in ROUTE_TABLES}


def about_route(diff: object) -> bool:
    """Whether an autogenerate difference concerns one of the route tables."""
    first = diff[0] if isinstance(diff, list) else diff
    for part in first if isinstance(first, tuple) else ():
        table = getattr(part, "table", None)
        name = part.name if isinstance(part, Table) else getattr(table, "name", part)
        if name in ROUTE_NAMES:
            return True
    return False


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_create_the_route_tables(backend: str, tmp_path: Path) -> None:
    with migrated_engine(backend, tmp_path) as engine:
        assert migrate.current(engine) in migrate.heads()
        assert set(inspect(engine).get_table_names()) >= ROUTE_NAMES
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            route_only = MetaData(naming_convention=metadata.naming_convention)
            for t in ROUTE_TABLES:
                t.to_metadata(route_only)
            # Differences about other tables (the registry's) are not this test's concern.
            diff = [d for d in compare_metadata(context, route_only) if about_route(d)]
        assert diff == []
        store = SqlRouteStore(engine)
        with store.transaction() as tx:
            seed(tx, "d1")
            tx.add_outbox("d1", RECIPIENT, 0, b"x", T0)
            tx.append_journal(T0, "package.accepted", SHA, {})
        assert store.verify_journal().ok
        store.seal_journal(T0)  # only a sealed journal goes back (0004_journal_seal)
        migrate.downgrade(engine, "0001_registry")
        assert not ROUTE_NAMES & set(inspect(engine).get_table_names())


def test_times_read_back_in_vietnam_time(store: SqlRouteStore) -> None:
    utc = datetime(2024, 12, 31, 20, 0, 0, tzinfo=UTC)  # New Year in Hà Nội
    with store.transaction() as tx:
        seed(tx, "d1")
        tx.add_to_inbox(item("d1", at=utc))
    with store.transaction() as tx:
        got = tx.list_inbox(RECIPIENT)[0].available_at
    assert got == utc and got.tzinfo is not None
    assert got.isoformat() == "2025-01-01T03:00:00+07:00"
    assert got.astimezone(VN_TZ) == got
