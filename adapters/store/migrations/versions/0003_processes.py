"""Processes: heartbeats every process publishes, push attempts kept in the database
(issue 9, item 3; adapters/store/process_tables.py).

Revision ID: 0003_processes
Revises: 0002_route
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003_processes"
down_revision: str | None = "0002_route"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def upgrade() -> None:
    op.create_table(
        "process_heartbeats",
        sa.Column("process_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("expected_every_s", sa.Float(), nullable=True),
        sa.Column("registered_at", _instant(), nullable=False),
        sa.Column("last_success", _instant(), nullable=True),
        sa.Column("last_error_at", _instant(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.Column("last_error_id", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("reported_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("process_id", "name", name="pk_process_heartbeats"),
    )
    op.create_table(
        "push_attempts",
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _instant(), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_push_attempts"),
    )


def downgrade() -> None:
    op.drop_table("push_attempts")
    op.drop_table("process_heartbeats")
