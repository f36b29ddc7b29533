"""Tasks tracked from the traffic (issue 12; adapters/store/task_tables.py).

Revision ID: 0014_tasks
Revises: 0013_refused_packages
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0014_tasks"
down_revision: str | None = "0013_refused_packages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant() -> sa.types.TypeEngine[datetime]:
    # As route_tables.Instant stores it: 32 characters of ISO 8601 on SQLite.
    return sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def _serial() -> sa.types.TypeEngine[int]:
    # SQLite only auto-numbers an INTEGER PRIMARY KEY.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("office", sa.String(), nullable=False),
        sa.Column("lead", sa.String(), nullable=False),
        sa.Column("officer", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("assigned_at", _instant(), nullable=False),
        sa.Column("completed_at", _instant(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_tasks"),
    )
    op.create_index("ix_tasks_document", "tasks", ["office", "document_id"])
    op.create_index("ix_tasks_deadline", "tasks", ["deadline"])
    op.create_index("ix_tasks_assigned", "tasks", ["assigned_at"])
    op.create_table(
        "task_parties",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("agency_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("code", "agency_id", name="pk_task_parties"),
    )
    op.create_index("ix_task_parties_agency", "task_parties", ["agency_id"])
    op.create_table(
        "task_history",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("before", sa.String(24), nullable=True),
        sa.Column("after", sa.String(24), nullable=False),
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("journal_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_task_history"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_task_history_code", "task_history", ["code", "id"])
    op.create_table(
        "task_cursors",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", _instant(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_task_cursors"),
    )
    op.create_table(
        "task_reminders",
        sa.Column("id", _serial(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("reminder", sa.String(64), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("sent_at", _instant(), nullable=False),
        sa.Column("document_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_task_reminders"),
        sa.UniqueConstraint("code", "reminder", name="uq_task_reminders"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("task_reminders")
    op.drop_table("task_cursors")
    op.drop_index("ix_task_history_code", table_name="task_history")
    op.drop_table("task_history")
    op.drop_index("ix_task_parties_agency", table_name="task_parties")
    op.drop_table("task_parties")
    op.drop_index("ix_tasks_assigned", table_name="tasks")
    op.drop_index("ix_tasks_deadline", table_name="tasks")
    op.drop_index("ix_tasks_document", table_name="tasks")
    op.drop_table("tasks")
