"""Migration 0004_journal_seal on SQLite and PostgreSQL: a journal chained the old way (one
link per append under the head lock) stays verifiable as the sealed part, new entries are
numbered after it by the database and sealed onto its end, and tampering with an old
entry is still found."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from route_support import BACKENDS, T0, seconds
from sqlalchemy import Engine, text
from store_support import database_url

from adapters.store import migrate
from adapters.store.db import make_engine
from adapters.store.route_repo import SqlRouteStore
from axis.journal.chain import GENESIS, canonical, link_hash

BEFORE = "0002_route"  # the journal as it was before the sealer


@pytest.fixture(params=BACKENDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database_url(request.param, tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine, BEFORE)
            yield engine
        finally:
            engine.dispose()


def old_journal(engine: Engine, n: int) -> str:
    """Entries as the head-lock appender wrote them; the last link."""
    prev = GENESIS
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            at: datetime = T0 + seconds(seq)
            payload: dict[str, object] = {"i": seq}
            link = link_hash(seq, at, "delivery.queued", f"d{seq}", payload, prev)
            stamp = at.isoformat(timespec="microseconds")
            conn.execute(text(
                "INSERT INTO journal (seq, at, kind, subject, payload, prev_hash, hash) "
                "VALUES (:s, :at, 'delivery.queued', :sub, :p, :prev, :h)"),
                {"s": seq, "at": at if conn.dialect.name == "postgresql" else stamp,
                 "sub": f"d{seq}", "p": canonical(payload), "prev": prev, "h": link})
            prev = link
        conn.execute(text("INSERT INTO journal_head (id, seq, hash) VALUES (1, :s, :h)"),
                     {"s": n, "h": prev})
    return prev


def test_old_entries_stay_verifiable_and_new_ones_chain_on(old_db: Engine) -> None:
    last = old_journal(old_db, 3)
    migrate.upgrade(old_db)
    store = SqlRouteStore(old_db)
    report = store.verify_journal()
    assert (report.ok, report.entries, report.sealed_seq, report.unsealed) == (True, 3, 3, 0)
    assert store.journal_head() == (3, last)

    with store.transaction() as tx:
        new = tx.append_journal(T0, "package.accepted", "x", {})
    assert new.seq == 4  # numbered after the old entries, never reusing one
    done = store.seal_journal(T0)
    assert (done.sealed, done.head, done.broken) == (1, 4, "")
    assert list(store.journal())[3].prev_hash == last
    report = store.verify_journal()
    assert (report.ok, report.entries, report.sealed_seq) == (True, 4, 4)


def test_an_old_entry_edited_after_the_migration_is_found(old_db: Engine) -> None:
    old_journal(old_db, 4)
    migrate.upgrade(old_db)
    with old_db.begin() as conn:
        conn.exec_driver_sql("UPDATE journal SET subject = 'someone-else' WHERE seq = 2")
    report = SqlRouteStore(old_db).verify_journal()
    assert (report.ok, report.first_broken) == (False, 2)


def test_a_sealed_journal_migrates_back(old_db: Engine) -> None:
    old_journal(old_db, 2)
    migrate.upgrade(old_db)
    store = SqlRouteStore(old_db)
    with store.transaction() as tx:
        tx.append_journal(T0, "package.accepted", "x", {})
    store.seal_journal(T0)
    migrate.downgrade(old_db, BEFORE)
    with old_db.connect() as conn:
        rows = conn.execute(text("SELECT seq, hash FROM journal ORDER BY seq")).all()
    assert [r.seq for r in rows] == [1, 2, 3] and all(r.hash for r in rows)
