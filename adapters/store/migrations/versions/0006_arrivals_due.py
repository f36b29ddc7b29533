"""Arrival statuses due: the node's 01 for a taken copy is signed by a worker, not in the
recipient's getEdoc (issue 9: signing it there cost a fifth of the HTTP process's time).
A row is written in the take's own transaction and deleted in the one that queues the
01, so a crash between the two leaves the row, never a lost 01
(adapters/store/route_tables.py `arrivals_due`).

Revision ID: 0006_arrivals_due
Revises: 0005_shared_state
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_arrivals_due"
down_revision: str | None = "0005_shared_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "arrivals_due",
        sa.Column("delivery_id", sa.String(64), nullable=False),
        # As route_tables.Instant stores it: 32 characters of ISO 8601 on SQLite.
        sa.Column("taken_at", sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite"),
                  nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.delivery_id"],
                                name="fk_arrivals_due_delivery_id_deliveries"),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_arrivals_due"),
    )


def downgrade() -> None:
    op.drop_table("arrivals_due")
