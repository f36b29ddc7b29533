"""The journal tables: chained appends under the head lock, tolerant reads, the audit.

Used by route_repo (inside its transactions); SQLAlchemy exceptions are translated there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Connection, Row, Text, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from adapters.store.route_tables import journal, journal_head
from axis import errors
from axis.clock import VN_TZ, as_vietnam
from axis.journal.chain import (
    GENESIS,
    ChainReport,
    JournalEntry,
    canonical,
    make_entry,
    verify_chain,
)

# Any result row (SQLAlchemy 2.1 types rows by their column tuple).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
PAGE = 1000
HEAD_ID = 1
# Stands in for an unreadable stored value: the entry then fails its hash and the audit
# reports it, instead of the walk crashing on it.
_UNREADABLE_AT = datetime(1, 1, 1, tzinfo=VN_TZ)


def _lock_head(conn: Connection) -> AnyRow | None:
    # FOR UPDATE on PostgreSQL: a second appender waits here and then reads the row as
    # the first one left it. SQLite renders nothing: BEGIN IMMEDIATE holds the write lock.
    q = select(journal_head).where(journal_head.c.id == HEAD_ID).with_for_update()
    return conn.execute(q).first()


def _create_head(conn: Connection) -> None:
    values = {"id": HEAD_ID, "seq": 0, "hash": GENESIS}
    if conn.dialect.name == "postgresql":
        stmt: Any = pg_insert(journal_head).values(values).on_conflict_do_nothing(
            index_elements=["id"])
    else:
        stmt = sqlite_insert(journal_head).values(values).on_conflict_do_nothing(
            index_elements=["id"])
    conn.execute(stmt)


def _locked_head(conn: Connection) -> AnyRow:
    head = _lock_head(conn)
    if head is None:
        # First append ever (tables made by create_all): insert the head if absent. A
        # concurrent first appender's insert makes this one wait for its commit, after
        # which the lock below reads the head as that appender left it. (Checking the
        # journal for entries first would race: it may commit in between.)
        _create_head(conn)
        head = _lock_head(conn)
        if head is None:  # pragma: no cover - the row was just inserted
            raise errors.JOURNAL_BROKEN.error("the journal head cannot be created")
    if head.seq == 0 and conn.execute(select(journal.c.seq).limit(1)).first() is not None:
        raise errors.JOURNAL_BROKEN.error("the journal has entries but its head has none")
    return head


def append(
    conn: Connection, at: datetime, kind: str, subject: str, payload: dict[str, object]
) -> JournalEntry:
    """Chain an entry to the head, in the caller's transaction (fail closed: it commits or
    rolls back with the step it records)."""
    head = _locked_head(conn)
    prev: JournalEntry | None = None
    if head.seq:
        row = conn.execute(select(journal).where(journal.c.seq == head.seq)).first()
        if row is None or row.hash != head.hash:
            # Never chain onto a tail that was removed or rewritten: an auditor must look.
            raise errors.JOURNAL_BROKEN.error(f"the last entry (seq {head.seq}) does not "
                                              "match the journal head")
        prev = entry_of(row)
    # Hash what will be read back: the JSON form (tuples become lists, dates strings,
    # keys strings), so a re-read payload gives the same canonical text.
    stored = json.loads(canonical(payload))
    entry = make_entry(prev, as_vietnam(at), kind, subject, stored)
    conn.execute(journal.insert().values(
        seq=entry.seq, at=entry.at, kind=kind, subject=subject,
        payload=canonical(stored), prev_hash=entry.prev_hash, hash=entry.hash))
    done = conn.execute(update(journal_head).where(
        journal_head.c.id == HEAD_ID, journal_head.c.seq == head.seq,
    ).values(seq=entry.seq, hash=entry.hash))
    if done.rowcount != 1:  # pragma: no cover - only without the head lock
        raise errors.STORE_CONFLICT.error("the journal head moved during an append")
    return entry


def _instant(value: Any) -> datetime:
    try:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            return as_vietnam(value)
    except ValueError:
        pass
    return _UNREADABLE_AT


def _payload(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    return {"unreadable_payload": text}


def entry_of(row: AnyRow) -> JournalEntry:
    return JournalEntry(seq=int(row.seq), at=_instant(row.at), kind=row.kind,
                        subject=row.subject, payload=_payload(row.payload),
                        prev_hash=row.prev_hash, hash=row.hash)


def page(conn: Connection, after_seq: int) -> list[JournalEntry]:
    j = journal.c
    # `at` as raw text on SQLite: a hand-edited, unparseable time must show up as a
    # broken entry rather than abort the whole read.
    at = type_coerce(j.at, Text()).label("at") if conn.dialect.name == "sqlite" else j.at
    q = (select(j.seq, at, j.kind, j.subject, j.payload, j.prev_hash, j.hash)
         .where(j.seq > after_seq).order_by(j.seq).limit(PAGE))
    return [entry_of(r) for r in conn.execute(q)]


def head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(select(journal_head).where(journal_head.c.id == HEAD_ID)).first()
    return (int(row.seq), str(row.hash)) if row else (0, GENESIS)


def verify(
    read_head: Callable[[], tuple[int, str]],
    entries: Callable[[], Iterator[JournalEntry]],
) -> ChainReport:
    """verify_chain, then the chain's end against the head read before and after the walk
    (appends may go on meanwhile: entries up to the first head must all be there, none
    may lie beyond the second)."""
    before_seq, before_hash = read_head()
    seen: dict[str, Any] = {"last": 0, "hash_at_head": None}

    def walk() -> Iterator[JournalEntry]:
        for e in entries():
            seen["last"] = e.seq
            if e.seq == before_seq:
                seen["hash_at_head"] = e.hash
            yield e

    report = verify_chain(walk())
    if not report.ok:
        return report
    last: int = seen["last"]
    if last < before_seq:
        return ChainReport(report.entries, last + 1,
                           f"the journal ends at seq {last} but its head records seq "
                           f"{before_seq}: entries were removed from the end")
    if before_seq and seen["hash_at_head"] != before_hash:
        return ChainReport(report.entries, before_seq,
                           "the entry's hash differs from the one the journal head records")
    after_seq, _ = read_head()
    if last > after_seq:
        return ChainReport(report.entries, after_seq + 1,
                           f"entries after seq {after_seq} were not appended through the "
                           "journal head")
    return report
