"""Agency registry: agencies, their certificates, credentials and history (issue 4).

Revision ID: 0001_registry
Revises:
Create Date: 2026-11-24

Written out rather than built from `registry_tables`: a migration must keep creating
what it created on the day it was written, whatever the table module becomes later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_registry"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = 32


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("short_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("delivery_mode", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(500), nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=False),
        sa.Column("contact_phone", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('internal', 'external')", name="ck_agencies_kind"),
        sa.CheckConstraint(
            "state IN ('active', 'suspended', 'retired')", name="ck_agencies_state"
        ),
        sa.CheckConstraint(
            "delivery_mode IN ('pull', 'push', 'amqp')", name="ck_agencies_delivery_mode"
        ),
        sa.CheckConstraint("level BETWEEN 1 AND 4", name="ck_agencies_level"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["agencies.agency_id"], name="fk_agencies_parent_id_agencies"
        ),
        sa.PrimaryKeyConstraint("agency_id", name="pk_agencies"),
        sa.UniqueConstraint("short_id", name="uq_agencies_short_id"),
    )
    op.create_index("ix_agencies_parent_id", "agencies", ["parent_id"])

    op.create_table(
        "agency_certificates",
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.agency_id"],
            name="fk_agency_certificates_agency_id_agencies",
        ),
        sa.PrimaryKeyConstraint("fingerprint", name="pk_agency_certificates"),
    )
    op.create_index(
        "ix_agency_certificates_agency_id", "agency_certificates", ["agency_id"]
    )

    op.create_table(
        "agency_credentials",
        sa.Column("system_id", sa.String(128), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.String(INSTANT), nullable=False),
        sa.Column("revoked_at", sa.String(INSTANT), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.agency_id"],
            name="fk_agency_credentials_agency_id_agencies",
        ),
        sa.PrimaryKeyConstraint("system_id", name="pk_agency_credentials"),
    )
    op.create_index("ix_agency_credentials_agency_id", "agency_credentials", ["agency_id"])

    op.create_table(
        "agency_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("at", sa.String(INSTANT), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.agency_id"], name="fk_agency_history_agency_id_agencies"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_agency_history"),
    )
    op.create_index("ix_agency_history_agency_id", "agency_history", ["agency_id"])


def downgrade() -> None:
    for index, table in (
        ("ix_agency_history_agency_id", "agency_history"),
        ("ix_agency_credentials_agency_id", "agency_credentials"),
        ("ix_agency_certificates_agency_id", "agency_certificates"),
        ("ix_agencies_parent_id", "agencies"),
    ):
        op.drop_index(index, table_name=table)
        op.drop_table(table)
