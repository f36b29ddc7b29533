"""Registry snapshots held from Axis peers (issue 10, item 5;
adapters/store/snapshot_tables.py).

Revision ID: 0010_peer_snapshots
Revises: 0009_registry_sync
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010_peer_snapshots"
down_revision: str | None = "0009_registry_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant() -> sa.types.TypeEngine[datetime]:
    # As route_tables.Instant stores it: 32 characters of ISO 8601 on SQLite.
    return sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def upgrade() -> None:
    op.create_table(
        "peer_snapshots",
        sa.Column("peer", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("signer", sa.String(64), nullable=False),
        sa.Column("issued_at", _instant(), nullable=False),
        sa.Column("received_at", _instant(), nullable=False),
        sa.Column("agencies", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("peer", name="pk_peer_snapshots"),
    )


def downgrade() -> None:
    op.drop_table("peer_snapshots")
