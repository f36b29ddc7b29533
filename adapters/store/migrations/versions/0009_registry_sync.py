"""The national registry sync (issue 10, item 1): units seen per peer, conflicts, and
this node's registrations with peers (adapters/store/sync_tables.py).

Revision ID: 0009_registry_sync
Revises: 0008_federation
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009_registry_sync"
down_revision: str | None = "0008_federation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant() -> sa.types.TypeEngine[datetime]:
    # As route_tables.Instant stores it: 32 characters of ISO 8601 on SQLite.
    return sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def upgrade() -> None:
    op.create_table(
        "registry_sync_units",
        sa.Column("peer", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("center", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("synced_at", _instant(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("peer", "code", name="pk_registry_sync_units"),
    )
    op.create_table(
        "registry_sync_conflicts",
        sa.Column("peer", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("first_seen", _instant(), nullable=False),
        sa.Column("last_seen", _instant(), nullable=False),
        sa.Column("resolved_at", _instant(), nullable=True),
        sa.PrimaryKeyConstraint("peer", "code", "kind", name="pk_registry_sync_conflicts"),
    )
    op.create_table(
        "peer_registrations",
        sa.Column("peer", sa.String(64), nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("peer", "agency_id", name="pk_peer_registrations"),
    )


def downgrade() -> None:
    op.drop_table("peer_registrations")
    op.drop_table("registry_sync_conflicts")
    op.drop_table("registry_sync_units")
