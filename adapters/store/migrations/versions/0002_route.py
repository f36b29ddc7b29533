"""Routing core: packages, deliveries, trail, outbox, inbox, journal and its head (issue 4).

Revision ID: 0002_route
Revises: 0001_registry
Create Date: 2026-11-24

Written out rather than built from `route_tables`: a migration must keep creating what it
created on the day it was written, whatever the table module becomes later. Times are
timestamptz on PostgreSQL and fixed-width ISO 8601 text (+07:00) on SQLite, as
`route_tables.Instant` reads and writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002_route"
down_revision: str | None = "0001_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def _serial() -> sa.types.TypeEngine[Any]:
    # SQLite only auto-numbers an INTEGER PRIMARY KEY (the rowid alias), not a BIGINT.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "packages",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("received_at", _instant(), nullable=False),
        sa.Column("signature", sa.String(32), nullable=False),
        sa.Column("signer_fingerprint", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_packages"),
    )

    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("package_sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("recipient_id", sa.String(), nullable=False),
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("business_type", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.String(2), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("accepted_at", _instant(), nullable=False),
        sa.Column("available_at", _instant(), nullable=True),
        sa.Column("delivered_at", _instant(), nullable=True),
        sa.Column("effective_at", _instant(), nullable=True),
        sa.Column("transport_state", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["package_sha256"], ["packages.sha256"],
                                name="fk_deliveries_package_sha256_packages"),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_deliveries"),
        sa.UniqueConstraint("dedupe_key", name="uq_deliveries_dedupe_key"),
    )
    op.create_index("ix_deliveries_document", "deliveries",
                    ["sender_id", "document_id", "kind"])
    op.create_index("ix_deliveries_state", "deliveries", ["state"])

    op.create_table(
        "trail",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("agency_id", sa.String(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("delivery_id", sa.String(64), nullable=True),
        sa.Column("status_code", sa.String(2), nullable=True),
        sa.Column("effective_at", _instant(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trail"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_trail_document", "trail", ["document_id", "at", "id"])

    op.create_table(
        "outbox",
        sa.Column("entry_id", _serial(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("agency_id", sa.String(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _instant(), nullable=False),
        sa.Column("sent_at", _instant(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.delivery_id"],
                                name="fk_outbox_delivery_id_deliveries"),
        sa.PrimaryKeyConstraint("entry_id", name="pk_outbox"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_pending", "outbox", ["priority", "entry_id"],
                    postgresql_where=sa.text("sent_at IS NULL"),
                    sqlite_where=sa.text("sent_at IS NULL"))

    op.create_table(
        "inbox",
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("agency_id", sa.String(), nullable=False),
        sa.Column("sender_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("business_type", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.String(2), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("available_at", _instant(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.delivery_id"],
                                name="fk_inbox_delivery_id_deliveries"),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_inbox"),
    )
    op.create_index("ix_inbox_listing", "inbox",
                    ["agency_id", "priority", "available_at", "delivery_id"])

    op.create_table(
        "journal",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_journal"),
    )

    # The head row itself is created by the first append (route_journal), so databases
    # made by `metadata.create_all` and by this migration behave the same.
    op.create_table(
        "journal_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        # op.f: the name is final (the "ck" convention would prefix it again).
        sa.CheckConstraint("id = 1", name=op.f("ck_journal_head_single_row")),
        sa.PrimaryKeyConstraint("id", name="pk_journal_head"),
    )


def downgrade() -> None:
    op.drop_table("journal_head")
    op.drop_table("journal")
    op.drop_index("ix_inbox_listing", table_name="inbox")
    op.drop_table("inbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_trail_document", table_name="trail")
    op.drop_table("trail")
    op.drop_index("ix_deliveries_state", table_name="deliveries")
    op.drop_index("ix_deliveries_document", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("packages")
