"""Routing by province code (issue 10, item 5): the level-1 groups a peer serves
(`peers.provinces`, axis/federation/provinces.py).

Revision ID: 0011_peer_provinces
Revises: 0010_peer_snapshots
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_peer_provinces"
down_revision: str | None = "0010_peer_snapshots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("peers") as batch:
        batch.add_column(sa.Column("provinces", sa.JSON(), nullable=False,
                                   server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("peers") as batch:
        batch.drop_column("provinces")
