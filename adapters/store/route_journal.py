"""The journal tables: appends that share no row, the sealer, tolerant reads, the audit.

Used by route_repo (inside its transactions); SQLAlchemy exceptions are translated there.

Append (in the step's own transaction, fail closed): one INSERT of the entry and its entry
hash; the database hands out `seq` (a sequence on PostgreSQL, AUTOINCREMENT on SQLite).
No row is shared between appenders, so concurrent steps never queue behind one another
for their whole length (issue 9, item 4). The chain is made afterwards by the sealer.

Sealer (`seal_pass`, in its own short transaction, run every second by the `journal.seal`
job and after each delivery pass, which never claims gaps): takes the seal head row
(`journal_head`: the last sealed seq and its link), then walks the entries after it in
seq order and writes each one's link, up to the first number it cannot yet decide. Only
sealers lock the head, and a sealer finding it locked skips its pass (FOR UPDATE SKIP
LOCKED): two node processes never seal the same entry twice, nor wait on each other.

Which missing numbers it may seal, and why that rule is sound:
- Sequence numbers are handed out at insert and committed out of order; a step that
  rolls back leaves its number unused (PostgreSQL). So "n is missing now" can mean: in
  flight (will commit later), rolled back (never will), or removed (tampering).
- The sealer only considers a number n below an entry m > n that it can already read.
  The step holding n took it before m was taken, so it has either inserted its row by now
  (its INSERT is a single statement), or it never will.
- It then claims n by inserting the sealed gap marker at seq n itself, waiting at most
  GAP_WAIT for the lock. The primary key decides: if the step holding n is still in
  flight, the insert waits on it: a timeout means "in flight, stop here, retry next
  pass", and a commit meanwhile means a unique violation, "stop, seal it next pass". Only
  when no transaction holds row n does the insert succeed: that number will never be
  committed by anyone (a latecomer's insert would now fail, and its step roll back).
  Rule chosen over a time bound because it needs no clock and no transaction timeout.
- SQLite hands out numbers under its single writer lock and AUTOINCREMENT rolls back
  with the step: a missing number there is always a removed entry. The sealer never
  seals over it; it stops and reports node.journal_broken.
What the rule cannot tell: a committed entry deleted by someone with database access in
the second between its commit and its sealing is sealed as a rolled-back gap (the entry's
number is there, marked `journal.gap`). Once sealed, a removed entry is a missing number
in the chain and is always found.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    Connection,
    Row,
    Text,
    bindparam,
    exists,
    func,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from adapters.store.route_tables import journal, journal_head
from axis.clock import VN_TZ, as_vietnam
from axis.journal.audit import SealHead
from axis.journal.chain import (
    GENESIS,
    JournalEntry,
    canonical,
    content_intact,
    entry_hash,
    entry_hash_text,
    gap_entry,
    link_hash2,
    seal,
)

# Any result row (SQLAlchemy 2.1 types rows by their column tuple).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
PAGE = 1000
SEAL_BATCH = 1000  # entries sealed per transaction
GAP_WAIT_MS = 50  # how long a sealer waits on a step that may still hold a missing number
HEAD_ID = 1
# Stands in for an unreadable stored value: the entry then fails its hash and the audit
# reports it, instead of the walk crashing on it.
_UNREADABLE_AT = datetime(1, 1, 1, tzinfo=VN_TZ)
_UNIQUE, _LOCK_TIMEOUT = "23505", "55P03"
# Built once: the values are parameters (a statement built per call costs more than its
# round trip).
_APPEND = journal.insert().returning(journal.c.seq)
_PG_LINKS = text(
    "UPDATE journal SET prev_hash = v.p, hash = v.h "
    "FROM unnest(CAST(:k AS BIGINT[]), CAST(:p AS TEXT[]), CAST(:h AS TEXT[])) AS v(k, p, h) "
    "WHERE journal.seq = v.k")


def append(
    conn: Connection, at: datetime, kind: str, subject: str, payload: dict[str, object]
) -> JournalEntry:
    """Write an unsealed entry in the caller's transaction (fail closed: it commits or
    rolls back with the step it records); the database numbers it."""
    # Hash what will be read back: the JSON form (tuples become lists, dates strings,
    # keys strings), so a re-read payload gives the same canonical text.
    stored = json.loads(canonical(payload))
    when = as_vietnam(at)
    digest = entry_hash(when, kind, subject, stored)
    seq = conn.execute(_APPEND, {
        "at": when, "kind": kind, "subject": subject, "payload": canonical(stored),
        "entry_hash": digest}).scalar_one()
    return JournalEntry(int(seq), when, kind, subject, stored, digest)


# --- reading ---------------------------------------------------------------------------
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
                        entry_hash=row.entry_hash, prev_hash=row.prev_hash, hash=row.hash)


def _rows(conn: Connection, after_seq: int, limit: int) -> list[AnyRow]:
    j = journal.c
    # `at` as raw text on SQLite: a hand-edited, unparseable time must show up as a
    # broken entry rather than abort the whole read.
    at = type_coerce(j.at, Text()).label("at") if conn.dialect.name == "sqlite" else j.at
    q = (select(j.seq, at, j.kind, j.subject, j.payload, j.entry_hash, j.prev_hash, j.hash)
         .where(j.seq > after_seq).order_by(j.seq).limit(limit))
    return list(conn.execute(q))


def page(conn: Connection, after_seq: int, limit: int | None = None) -> list[JournalEntry]:
    return [entry_of(r) for r in _rows(conn, after_seq, limit or PAGE)]


def link_at(conn: Connection, seq: int) -> str | None:
    """The link of the journal entry at `seq`; None when there is none or it is unsealed."""
    value = conn.execute(select(journal.c.hash).where(journal.c.seq == seq)).scalar()
    return str(value) if value is not None else None


def head(conn: Connection) -> SealHead:
    row = conn.execute(select(journal_head).where(journal_head.c.id == HEAD_ID)).first()
    return SealHead(int(row.seq), str(row.hash)) if row else SealHead()


def issued(conn: Connection) -> int | None:
    """The highest seq the database has handed out (None: it cannot say)."""
    if conn.dialect.name == "sqlite":
        value = conn.exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = 'journal'").scalar()
    else:
        value = conn.execute(text(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence('journal', 'seq')"
            "::regclass)")).scalar()
    return int(value) if value is not None else 0


def settled(conn: Connection) -> bool:
    """Nothing to seal: the last entry is the seal head's (a cheap read, so an idle
    sealer takes no write lock; a journal cut below its head is not settled)."""
    last = conn.execute(select(func.max(journal.c.seq))).scalar()
    return int(last or 0) == head(conn).seq


def gaps_final(conn: Connection) -> bool:
    """Whether every missing number is a removed entry (no rolled-back gaps: SQLite)."""
    return conn.dialect.name == "sqlite"


# --- sealing ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SealPass:
    sealed: int = 0  # entries chained in this pass (gap markers included)
    gaps: int = 0  # rolled-back numbers sealed as gap markers
    head: int = 0  # the seal head after the pass
    busy: bool = False  # another sealer holds the head: nothing done
    more: bool = False  # a full batch: call again
    broken: str = ""  # why sealing stopped for good (an auditor must look)


def _insert_head(conn: Connection) -> None:
    values = {"id": HEAD_ID, "seq": 0, "hash": GENESIS}
    if conn.dialect.name == "postgresql":
        stmt: Any = pg_insert(journal_head).values(values).on_conflict_do_nothing(
            index_elements=["id"])
    else:
        stmt = sqlite_insert(journal_head).values(values).on_conflict_do_nothing(
            index_elements=["id"])
    conn.execute(stmt)


def _take_head(conn: Connection) -> AnyRow | None:
    """The seal head, locked; None when another sealer holds it. SQLite renders no
    FOR UPDATE: BEGIN IMMEDIATE already made this the only writer."""
    q = (select(journal_head).where(journal_head.c.id == HEAD_ID)
         .with_for_update(skip_locked=True))
    row = conn.execute(q).first()
    if row is None:
        _insert_head(conn)  # first pass ever (or a concurrent first: it waits for it)
        row = conn.execute(q).first()
    return row


def _broken_at_head(conn: Connection, seq: int, link: str) -> str:
    """Never chain onto an end that was removed or rewritten."""
    j = journal.c
    if seq == 0:
        if conn.execute(select(exists().where(j.hash.is_not(None)))).scalar():
            return "the journal has sealed entries but its seal head has none"
        return ""
    row = conn.execute(select(j.hash).where(j.seq == seq)).first()
    if row is None or row.hash != link:
        return f"the last sealed entry (seq {seq}) does not match the seal head"
    return ""


def _claim_gap(conn: Connection, seq: int, prev: str, at: datetime) -> JournalEntry | None:
    """Seal number `seq` as rolled back if no transaction holds it (see the module
    docstring); None when a step holds it (in flight, or committed meanwhile)."""
    marker = seal(gap_entry(seq, at, "rolled back"), prev)
    try:
        with conn.begin_nested():
            conn.execute(journal.insert().values(
                seq=seq, at=marker.at, kind=marker.kind, subject=marker.subject,
                payload=canonical(marker.payload), entry_hash=marker.entry_hash,
                prev_hash=marker.prev_hash, hash=marker.hash))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) in (_UNIQUE, _LOCK_TIMEOUT):
            return None
        raise
    return marker


def seal_pass(
    conn: Connection, at: datetime, batch: int | None = None, *, claim_gaps: bool = True
) -> SealPass:
    """One batch (SEAL_BATCH entries by default), in the caller's own short transaction.
    `claim_gaps=False`: stop at the first missing number without waiting on anyone (what
    a delivery pass does; the job claims gaps)."""
    batch = batch or SEAL_BATCH
    row = _take_head(conn)
    if row is None:
        return SealPass(busy=True)
    seq, prev = int(row.seq), str(row.hash)
    broken = _broken_at_head(conn, seq, prev)
    if broken:
        return SealPass(head=seq, broken=broken)
    postgres = conn.dialect.name == "postgresql"
    if postgres:  # bounds the wait on a step in flight (and nothing else waits here)
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{GAP_WAIT_MS}ms'")
    rows = _rows(conn, seq, batch)
    links: list[dict[str, Any]] = []
    gaps, stop, whole = 0, "", True
    for r in rows:
        while seq + 1 < r.seq and postgres and claim_gaps:  # missing below a readable one
            marker = _claim_gap(conn, seq + 1, prev, as_vietnam(at))
            if marker is None:
                break  # in flight or just committed: next pass
            seq, prev, gaps = marker.seq, marker.hash or "", gaps + 1
        if seq + 1 < r.seq:
            if not postgres and claim_gaps:
                stop = f"sequence gap: seq {seq + 1} is missing (a removed entry)"
            whole = False
            break
        link = _link(r, prev)
        if r.hash is not None:
            stop = f"entry {r.seq} carries a link the sealer did not write"
        elif link is None:
            stop = f"entry {r.seq}: content does not match its hash"
        if stop or link is None:
            whole = False
            break
        links.append({"k": r.seq, "p": prev, "h": link})
        seq, prev = int(r.seq), link
    if links:
        _write_links(conn, links)
    if links or gaps:
        conn.execute(update(journal_head).where(journal_head.c.id == HEAD_ID)
                     .values(seq=seq, hash=prev))
    return SealPass(sealed=len(links) + gaps, gaps=gaps, head=seq,
                    more=whole and len(rows) == batch, broken=stop)


def _link(r: AnyRow, prev: str) -> str | None:
    """The entry's link (form 2, over its entry hash: axis/journal/chain.py), None when
    its content does not match its entry hash. Fast path: the stored payload text is the
    canonical text the appender hashed; the slow path (parsed and re-serialised, as the
    audit reads it) only when that text differs."""
    at = _instant(r.at)
    if r.entry_hash == entry_hash_text(at, r.kind, r.subject, r.payload):
        return link_hash2(int(r.seq), r.entry_hash, prev)
    e = entry_of(r)
    return seal(e, prev).hash if e.entry_hash and content_intact(e) else None


def _write_links(conn: Connection, links: list[dict[str, Any]]) -> None:
    j = journal.c
    if conn.dialect.name == "postgresql":
        # One statement for the batch (three arrays): one round trip, not one per entry.
        conn.execute(_PG_LINKS, {"k": [x["k"] for x in links], "p": [x["p"] for x in links],
                                 "h": [x["h"] for x in links]})
        return
    conn.execute(update(journal).where(j.seq == bindparam("k"))
                 .values(prev_hash=bindparam("p"), hash=bindparam("h")), links)
