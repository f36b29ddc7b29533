"""The replay cache and the rate-limit buckets in the node's database, shared by every
process (the `Admission` port of axis/auth; tables in auth_tables.py).

One transaction per request, one statement deciding each part in the common case, atomic
on both engines:

- replay: `INSERT … ON CONFLICT (system_id, signature) DO UPDATE … WHERE expired
  RETURNING`; a row back means first use (or an expired key used again), none a replay;
- rate limit: `UPDATE auth_rate SET tokens = refilled - 1 … WHERE bucket = :k AND
  refilled >= 1`: PostgreSQL re-evaluates the condition on the row a concurrent update
  left, SQLite runs it under its write lock; one row updated means a token was spent. No
  row: a first request (the bucket is inserted, one token spent) or an empty bucket (read
  back to say how long to wait).

The transaction holds the bucket's row lock (PostgreSQL) or the write lock (SQLite) only
for those few statements. On SQLite these writes go through an engine of their own whose
connections commit with `synchronous=NORMAL`: in WAL mode that skips the fsync of every
commit (2.4 ms each on the reference machine, once per request) and still survives a
crash of the process; a
power cut may forget the last accepted signatures, which a replay could then reuse only
within what is left of their ±5 minute window. The registry and the routing tables keep
`synchronous=FULL` on their own engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Float,
    bindparam,
    case,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from adapters.store.auth_tables import auth_rate, auth_replay
from adapters.store.db import make_engine
from axis import errors
from axis.auth.admission import Ticket, Verdict
from axis.auth.ratelimit import Bucket

# A key inserted by a racing process between our UPDATE and INSERT: try again this often.
_RATE_TRIES = 3


def admission_engine(engine: Engine) -> Engine:
    """The engine replay and rate-limit writes use: on SQLite one of its own, committing
    without an fsync (module docstring); on PostgreSQL the node's engine itself."""
    if engine.dialect.name != "sqlite":
        return engine
    own = make_engine(engine.url.render_as_string(hide_password=False))
    event.listen(own, "connect", _sqlite_normal_sync)
    return own


def _sqlite_normal_sync(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=NORMAL")  # after make_engine's pragmas (FULL)
    cur.close()


class SqlAdmission:
    def __init__(self, engine: Engine, bucket: Bucket) -> None:
        self.engine = engine
        self.bucket = bucket
        # Built once, with bound parameters: building and compiling these expressions on
        # every request cost more CPU than running them.
        insert_ = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert
        replay = insert_(auth_replay).values(
            system_id=bindparam("system_id"), signature=bindparam("signature"),
            expires_at=bindparam("expires_at"))
        self._first_use = replay.on_conflict_do_update(
            index_elements=[auth_replay.c.system_id, auth_replay.c.signature],
            set_={"expires_at": replay.excluded.expires_at},
            where=auth_replay.c.expires_at < bindparam("now"),
        ).returning(auth_replay.c.expires_at)  # not rowcount: psycopg gives none for INSERT
        # Bucket.refilled in SQL; CASE rather than LEAST/GREATEST (PostgreSQL) or the
        # two-argument min/max (SQLite), so that both engines run the same text.
        t, at, now = auth_rate.c.tokens, auth_rate.c.updated_at, bindparam("now", type_=Float)
        gained = case((now > at, (now - at) * bucket.per_second), else_=0.0)
        refilled = case((t + gained > bucket.burst, float(bucket.burst)), else_=t + gained)
        self._spend = (
            update(auth_rate)
            .where(auth_rate.c.bucket == bindparam("key"), refilled >= 1.0)
            .values(tokens=refilled - 1.0, updated_at=case((now > at, now), else_=at)))
        self._create = (
            insert_(auth_rate)
            .values(bucket=bindparam("key"), tokens=bucket.burst - 1.0, updated_at=now)
            .on_conflict_do_nothing(index_elements=[auth_rate.c.bucket])
            .returning(auth_rate.c.tokens))
        self._read = select(t, at).where(auth_rate.c.bucket == bindparam("key"))

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except (DBAPIError, SQLAlchemyError) as exc:
            raise errors.STORE_UNAVAILABLE.error(f"auth state: {type(exc).__name__}") from exc

    def admit(self, ticket: Ticket, now: float) -> Verdict:
        """One transaction: the replay upsert, then (not a replay) the token."""
        with self._tx() as conn:
            first = conn.execute(self._first_use, {
                "system_id": ticket.system_id, "signature": ticket.signature,
                "expires_at": ticket.expires_at, "now": now}).first()
            if first is None:
                return Verdict(replayed=True)
            return Verdict(wait=self._take(conn, ticket.bucket, now))

    def purge(self, now: float) -> int:
        """Expired signatures; buckets untouched for `refill_seconds` (full: their rows
        say nothing)."""
        with self._tx() as conn:
            signatures = conn.execute(
                delete(auth_replay).where(auth_replay.c.expires_at < now)).rowcount
            buckets = conn.execute(delete(auth_rate).where(
                auth_rate.c.updated_at < now - self.bucket.refill_seconds)).rowcount
        return int(signatures) + int(buckets)

    def _take(self, conn: Connection, key: str, now: float) -> int:
        b, params = self.bucket, {"key": key, "now": now}
        for _ in range(_RATE_TRIES):
            if conn.execute(self._spend, params).rowcount:
                return 0
            if conn.execute(self._create, params).first() is not None:
                return 0
            row = conn.execute(self._read, params).first()
            if row is not None and b.refilled(row.tokens, row.updated_at, now) < 1.0:
                return b.wait(b.refilled(row.tokens, row.updated_at, now))
        # Still contended after a few tries: refuse for a second rather than loop.
        return 1
