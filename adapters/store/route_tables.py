"""Tables of the routing core: packages, deliveries, trail, outbox, inbox and the journal.

Registered on the shared `metadata` (adapters/store/db.py) so that one `create_all` or
one Alembic history covers the whole node. Migration 0002_route creates the same tables;
a test compares the two.

Choices that matter for correctness:
- Times go through `Instant`: timestamptz on PostgreSQL, a fixed-width ISO 8601 string in
  +07:00 on SQLite (SQLite has no time type). Every value is normalised to +07:00 with
  microseconds, so the strings sort chronologically and read back exactly.
- Enum values are stored as their plain string value, not as database enums: adding a
  state later must not need an ALTER TYPE on PostgreSQL.
- The journal payload is the canonical JSON text the hash was computed over, in a Text
  column: a JSON/JSONB column may reorder keys or normalise numbers and break the hash.
- Journal `seq` is handed out by the database (a sequence on PostgreSQL, AUTOINCREMENT on
  SQLite, never reused): appenders share no row. `journal_head` is a single row (id = 1)
  holding the seal head, the last seq the sealer chained and its link; only sealers lock
  it. It also lets an audit notice sealed entries removed from the end of the journal,
  which the chain alone cannot show (adapters/store/route_journal.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.types import TypeEngine

from adapters.store.db import metadata
from axis.clock import as_vietnam


class Instant(TypeDecorator[datetime]):
    """An aware instant, read back in +07:00 on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # "2024-05-01T08:30:00.000000+07:00": 32 characters, always the same width.
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        local = as_vietnam(value)
        if dialect.name == "sqlite":
            return local.isoformat(timespec="microseconds")
        return local

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return as_vietnam(value)


# SQLite only auto-numbers an INTEGER PRIMARY KEY (the rowid alias), not a BIGINT one.
Serial = BigInteger().with_variant(Integer(), "sqlite")

packages = Table(
    "packages", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sender_id", String, nullable=False),
    Column("document_id", String, nullable=False),
    Column("received_at", Instant, nullable=False),
    Column("signature", String(32), nullable=False),
    Column("signer_fingerprint", String, nullable=False),
    # Replay's context and the evidence export find a document's packages; the console's
    # traffic charts read a time window (migration 0015).
    Index("ix_packages_document", "document_id"),
    Index("ix_packages_received_at", "received_at"),
)

deliveries = Table(
    "deliveries", metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("package_sha256", String(64), ForeignKey("packages.sha256"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sender_id", String, nullable=False),
    Column("recipient_id", String, nullable=False),
    Column("document_id", String, nullable=False),
    Column("business_type", Integer, nullable=True),
    Column("status_code", String(2), nullable=True),
    Column("priority", Integer, nullable=False),
    # Unique: two nodes racing on the same package cannot both create the copy.
    Column("dedupe_key", String, nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("accepted_at", Instant, nullable=False),
    Column("available_at", Instant, nullable=True),
    Column("delivered_at", Instant, nullable=True),
    Column("effective_at", Instant, nullable=True),
    Column("transport_state", String(16), nullable=False),
    Column("origin", String(16), nullable=False),
    Index("ix_deliveries_document", "sender_id", "document_id", "kind"),
    Index("ix_deliveries_state", "state"),
)

trail = Table(
    "trail", metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("document_id", String, nullable=False),
    Column("agency_id", String, nullable=False),
    Column("event", String(16), nullable=False),
    Column("at", Instant, nullable=False),
    # No foreign key: the trail is evidence and also records refusals with no delivery.
    Column("delivery_id", String(64), nullable=True),
    Column("status_code", String(2), nullable=True),
    Column("effective_at", Instant, nullable=True),
    Column("detail", Text, nullable=False),
    Index("ix_trail_document", "document_id", "at", "id"),
    sqlite_autoincrement=True,
)

outbox = Table(
    "outbox", metadata,
    # Never reused (sqlite_autoincrement, a sequence on PostgreSQL): entry_id order is
    # arrival order, the tie-breaker after priority.
    Column("entry_id", Serial, primary_key=True, autoincrement=True),
    Column("delivery_id", String(64), ForeignKey("deliveries.delivery_id"), nullable=False),
    Column("agency_id", String, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("sent_at", Instant, nullable=True),
    # Partial index: the relay only ever looks at what is still unsent.
    Index("ix_outbox_pending", "priority", "entry_id",
          postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),
    sqlite_autoincrement=True,
)

inbox = Table(
    "inbox", metadata,
    # The primary key is the consumer's deduplication: one inbox row per delivery, ever.
    Column("delivery_id", String(64), ForeignKey("deliveries.delivery_id"),
           primary_key=True),
    Column("agency_id", String, nullable=False),
    Column("sender_id", String, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("document_id", String, nullable=False),
    Column("business_type", Integer, nullable=True),
    Column("status_code", String(2), nullable=True),
    Column("priority", Integer, nullable=False),
    Column("available_at", Instant, nullable=False),
    Index("ix_inbox_listing", "agency_id", "priority", "available_at", "delivery_id"),
)

journal = Table(
    "journal", metadata,
    # Numbered at insert by the database; the sealer claims a rolled-back number by
    # inserting its gap marker at that seq (the primary key settles the race).
    Column("seq", Serial, primary_key=True, autoincrement=True),
    Column("at", Instant, nullable=False),
    Column("kind", String, nullable=False),
    Column("subject", String, nullable=False),
    Column("payload", Text, nullable=False),
    # Written by the appender: H(at, kind, subject, payload). NULL only on entries
    # chained before the sealer existed (their link covers the content).
    Column("entry_hash", String(64), nullable=True),
    # The chain, written by the sealer: NULL until sealed.
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    # The console reads entries of a kind in a time window (refusals by code, access);
    # an evidence bundle reads a document's entries by subject (migration 0015).
    Index("ix_journal_kind_at", "kind", "at"),
    Index("ix_journal_subject", "subject"),
    sqlite_autoincrement=True,
)

journal_head = Table(
    "journal_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

# The node's 01 still to be signed and queued for a copy taken (migration 0006): written
# with the take, deleted with the 01's own delivery, so no crash can lose it.
arrivals_due = Table(
    "arrivals_due", metadata,
    Column("delivery_id", String(64), ForeignKey("deliveries.delivery_id"), primary_key=True),
    Column("taken_at", Instant, nullable=False),
)

ROUTE_TABLES = (packages, deliveries, trail, outbox, inbox, journal, journal_head,
                arrivals_due)
