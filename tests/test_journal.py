"""The hash-chained journal in the store, on SQLite and PostgreSQL: appends chain, tampering
is found (edited, removed, forged entries), concurrent appenders never fork the chain."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from route_support import BACKENDS, SHA, T0, route_store, seconds
from store_support import database_url

from adapters.store import route_journal
from adapters.store.db import make_engine, metadata
from adapters.store.route_repo import SqlRouteStore
from adapters.store.route_tables import ROUTE_TABLES
from axis.errors import NodeFault
from axis.journal.chain import GENESIS, entry_hash, verify_chain

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlRouteStore]:
    with route_store(request.param, tmp_path) as s:
        yield s


def append(store: SqlRouteStore, n: int, subject: str = "s") -> None:
    for i in range(n):
        with store.transaction() as tx:
            tx.append_journal(T0 + seconds(i), "delivery.queued", f"{subject}{i}", {"i": i})


def raw_sql(store: SqlRouteStore, sql: str) -> None:
    """What someone with database access could do behind the node's back."""
    with store.engine.begin() as conn:
        conn.exec_driver_sql(sql)


def test_append_chains_and_reads_back_identically(store: SqlRouteStore) -> None:
    payload: dict[str, object] = {
        "b": [1, 2.5, None], "a": "Văn bản đến / Hà Nội", "when": T0, "pair": (1, "x"),
        "nested": {"z": True, "y": {"deep": "ok"}},
    }
    with store.transaction() as tx:
        first = tx.append_journal(T0, "package.accepted", SHA, payload)
        second = tx.append_journal(T0 + seconds(1), "delivery.queued", "d1", {})
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.payload["when"] == str(T0) and first.payload["pair"] == [1, "x"]
    assert list(store.journal()) == [first, second]
    assert list(store.journal(after_seq=1)) == [second]
    assert list(store.journal(after_seq=2)) == []
    assert verify_chain(store.journal()).ok
    assert store.verify_journal().entries == 2 and store.verify_journal().ok
    assert store.journal_head() == (2, second.hash)


def test_empty_journal_verifies(store: SqlRouteStore) -> None:
    report = store.verify_journal()
    assert (report.ok, report.entries, store.journal_head()) == (True, 0, (0, GENESIS))


def test_journal_is_read_in_pages(store: SqlRouteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(route_journal, "PAGE", 7)
    append(store, 20)
    assert [e.seq for e in store.journal()] == list(range(1, 21))
    assert [e.seq for e in store.journal(after_seq=14)] == list(range(15, 21))
    assert store.verify_journal().ok


def test_an_edited_payload_is_reported_at_its_seq(store: SqlRouteStore) -> None:
    append(store, 5)
    raw_sql(store, "UPDATE journal SET payload = '{\"i\":999}' WHERE seq = 3")
    report = verify_chain(store.journal())
    assert (report.ok, report.first_broken) == (False, 3)
    assert "hash" in report.reason
    assert store.verify_journal().first_broken == 3


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(store: SqlRouteStore) -> None:
    append(store, 5)
    e3 = list(store.journal())[2]
    forged: dict[str, object] = {"i": 999}
    new_hash = entry_hash(e3.seq, e3.at, e3.kind, e3.subject, forged, e3.prev_hash)
    raw_sql(store, f"UPDATE journal SET payload = '{{\"i\":999}}', hash = '{new_hash}' "
                   "WHERE seq = 3")
    report = store.verify_journal()
    assert (report.first_broken, report.reason) == (
        4, "prev_hash does not match the previous entry's hash")


def test_an_edited_time_is_reported(store: SqlRouteStore) -> None:
    append(store, 4)
    later = (T0 + seconds(3600)).isoformat(timespec="microseconds")
    raw_sql(store, f"UPDATE journal SET at = '{later}' WHERE seq = 2")
    assert store.verify_journal().first_broken == 2


def test_an_unreadable_time_is_reported_not_crashed_on(tmp_path: Path) -> None:
    with route_store("sqlite", tmp_path) as store:  # PostgreSQL's timestamptz refuses it
        append(store, 3)
        raw_sql(store, "UPDATE journal SET at = 'yesterday', payload = 'not json' "
                       "WHERE seq = 2")
        report = store.verify_journal()
    assert (report.first_broken, report.entries) == (2, 2)


def test_a_deleted_entry_is_a_gap(store: SqlRouteStore) -> None:
    append(store, 5)
    raw_sql(store, "DELETE FROM journal WHERE seq = 3")
    report = store.verify_journal()
    assert (report.first_broken, report.reason) == (4, "sequence gap: expected 3, found 4")


def test_entries_removed_from_the_end_are_found_and_stop_appends(store: SqlRouteStore) -> None:
    append(store, 5)
    raw_sql(store, "DELETE FROM journal WHERE seq >= 4")
    assert verify_chain(store.journal()).ok  # the chain alone cannot tell
    report = store.verify_journal()
    assert (report.ok, report.first_broken) == (False, 4)
    assert "removed from the end" in report.reason
    with pytest.raises(NodeFault) as caught, store.transaction() as tx:
        tx.append_journal(T0, "package.accepted", SHA, {})
    assert caught.value.code.id == "node.journal_broken"  # fail closed


def test_an_entry_forged_behind_the_head_is_found(store: SqlRouteStore) -> None:
    append(store, 2)
    last = list(store.journal())[-1]
    forged = entry_hash(3, T0, "package.accepted", "x", {}, last.hash)
    raw_sql(store, "INSERT INTO journal (seq, at, kind, subject, payload, prev_hash, hash) "
            f"VALUES (3, '{T0.isoformat(timespec='microseconds')}', 'package.accepted', "
            f"'x', '{{}}', '{last.hash}', '{forged}')")
    assert verify_chain(store.journal()).ok
    report = store.verify_journal()
    assert (report.first_broken, report.ok) == (3, False)


def test_a_removed_head_stops_appends(store: SqlRouteStore) -> None:
    append(store, 2)
    raw_sql(store, "DELETE FROM journal_head")
    with pytest.raises(NodeFault) as caught, store.transaction() as tx:
        tx.append_journal(T0, "package.accepted", SHA, {})
    assert caught.value.code.id == "node.journal_broken"
    assert store.verify_journal().first_broken == 1


def test_a_rolled_back_step_leaves_no_entry(store: SqlRouteStore) -> None:
    append(store, 2)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.append_journal(T0, "package.accepted", SHA, {})
        raise RuntimeError("crash before commit")
    with store.transaction() as tx:
        third = tx.append_journal(T0, "package.accepted", SHA, {})
    assert third.seq == 3 and store.verify_journal().ok


def test_concurrent_appenders_never_fork_the_chain(store: SqlRouteStore) -> None:
    errors: list[BaseException] = []

    def appender(name: str) -> None:
        try:
            append(store, 100, subject=name)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=appender, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    entries = list(store.journal())
    assert [e.seq for e in entries] == list(range(1, 201))
    assert {e.subject for e in entries} == {f"{n}{i}" for n in "ab" for i in range(100)}
    report = store.verify_journal()
    assert (report.ok, report.entries) == (True, 200)


def test_racing_first_appends_create_one_head(store: SqlRouteStore) -> None:
    """The head row is made by the first append: eight appenders start at the same
    instant on an empty journal, none may fail or fork it."""
    start = threading.Barrier(8, timeout=10)
    errors: list[BaseException] = []

    def appender(name: str) -> None:
        try:
            start.wait()
            append(store, 3, subject=name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=appender, args=(f"t{n}-",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    report = store.verify_journal()
    assert (report.ok, report.entries) == (True, 24)


APPENDER = """
import sys
from adapters.store.db import make_engine
from adapters.store.route_repo import SqlRouteStore
from axis.clock import SystemClock
store = SqlRouteStore(make_engine(sys.argv[1]))
for i in range(int(sys.argv[3])):
    with store.transaction() as tx:
        tx.append_journal(SystemClock().now(), "delivery.queued", f"{sys.argv[2]}{i}", {"i": i})
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_node_processes_append_one_chain(backend: str, tmp_path: Path) -> None:
    """Two processes sharing the database (the two-node deployment)."""
    with database_url(backend, tmp_path) as url:
        engine = make_engine(url)
        metadata.create_all(engine, tables=list(ROUTE_TABLES))
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        procs = [subprocess.Popen([sys.executable, "-c", APPENDER, url, name, "60"],
                                  cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
                 for name in ("p", "q")]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
        report = SqlRouteStore(engine).verify_journal()
        engine.dispose()
    assert (report.ok, report.entries) == (True, 120)

