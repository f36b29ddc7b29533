"""Shared state of several processes: the registry's version (for in-memory snapshots),
the replay cache and the rate-limit buckets (issue 9, items 3 and 4;
adapters/store/registry_tables.py, adapters/store/auth_tables.py).

Revision ID: 0005_shared_state
Revises: 0004_journal_seal
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_shared_state"
down_revision: str | None = "0004_journal_seal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    version = op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_registry_version_one_row"),
        sa.PrimaryKeyConstraint("id", name="pk_registry_version"),
    )
    op.bulk_insert(version, [{"id": 1, "version": 1}])

    op.create_table(
        "auth_replay",
        sa.Column("system_id", sa.String(128), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("system_id", "signature", name="pk_auth_replay"),
    )
    op.create_index("ix_auth_replay_expires_at", "auth_replay", ["expires_at"])

    op.create_table(
        "auth_rate",
        sa.Column("bucket", sa.String(128), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name="pk_auth_rate"),
    )
    op.create_index("ix_auth_rate_updated_at", "auth_rate", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_auth_rate_updated_at", table_name="auth_rate")
    op.drop_table("auth_rate")
    op.drop_index("ix_auth_replay_expires_at", table_name="auth_replay")
    op.drop_table("auth_replay")
    op.drop_table("registry_version")
