"""The registry's tables, on the shared `metadata` (migration 0001_registry creates them).

Instants are stored as ISO 8601 text with the +07:00 offset and microseconds
(`2026-11-24T08:00:00.000000+07:00`, 32 characters): the same bytes on SQLite, which has
no time zone type, and PostgreSQL; fixed width, so text order is time order; and read
back as aware +07:00 datetimes whatever the server's time zone (Art. 11.3).

Any change here needs a new Alembic revision in adapters/store/migrations/versions; a
test compares the migrated schema with these definitions.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from adapters.store.db import metadata

INSTANT = 32  # len("2026-11-24T08:00:00.000000+07:00")

agencies = Table(
    "agencies",
    metadata,
    Column("agency_id", String(64), primary_key=True),  # QCVN 102 form: the routing key
    Column("short_id", String(64), nullable=False, unique=True),  # Decision 20 form
    Column("name", String(500), nullable=False),
    Column("parent_id", String(64), ForeignKey("agencies.agency_id"), nullable=True),
    Column("level", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("delivery_mode", String(16), nullable=False),
    Column("endpoint", String(500), nullable=False),
    Column("contact_email", String(254), nullable=False),
    Column("contact_phone", String(64), nullable=False),
    Column("note", Text, nullable=False),
    # The peer serving an external agency (issue 10, migration 0008): "" = this node.
    Column("served_by", String(64), nullable=False, server_default=""),
    CheckConstraint("kind IN ('internal', 'external')", name="kind"),
    CheckConstraint("state IN ('active', 'suspended', 'retired')", name="state"),
    CheckConstraint("delivery_mode IN ('pull', 'push', 'amqp')", name="delivery_mode"),
    CheckConstraint("level BETWEEN 1 AND 4", name="level"),
)
Index("ix_agencies_parent_id", agencies.c.parent_id)

# One fingerprint, one agency: a certificate speaks for a single agency (child units are
# covered by the parent check of the policy stage, not by sharing certificates).
agency_certificates = Table(
    "agency_certificates",
    metadata,
    Column("fingerprint", String(64), primary_key=True),  # SHA-256 of the DER, hex
    Column("agency_id", String(64), ForeignKey("agencies.agency_id"), nullable=False),
)
Index("ix_agency_certificates_agency_id", agency_certificates.c.agency_id)

# Only the hash of a secret is ever stored (Art. 22: credentials are never shared).
agency_credentials = Table(
    "agency_credentials",
    metadata,
    Column("system_id", String(128), primary_key=True),
    Column("agency_id", String(64), ForeignKey("agencies.agency_id"), nullable=False),
    Column("secret_hash", String(200), nullable=False),
    Column("issued_at", String(INSTANT), nullable=False),
    Column("revoked_at", String(INSTANT), nullable=True),
)
Index("ix_agency_credentials_agency_id", agency_credentials.c.agency_id)

# Append-only: who, when, why, what before and after. Agencies are never deleted (retired
# instead), so the foreign key holds forever.
agency_history = Table(
    "agency_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agency_id", String(64), ForeignKey("agencies.agency_id"), nullable=False),
    Column("at", String(INSTANT), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("before", JSON(none_as_null=True), nullable=True),
    Column("after", JSON(none_as_null=True), nullable=True),
)
Index("ix_agency_history_agency_id", agency_history.c.agency_id)

# One row (id 1): bumped in the transaction of every registry write, so that a process
# serving from its in-memory snapshot learns of a change with one single-row read
# (axis/registry/live.py). Migration 0003 creates it with version 1.
registry_version = Table(
    "registry_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)

REGISTRY_TABLES = (agencies, agency_certificates, agency_credentials, agency_history,
                   registry_version)
