"""The evidence kept of refused packages (issue 11, item 2; adapters/store/refused_tables.py).

Revision ID: 0013_refused_packages
Revises: 0012_journal_checkpoints
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0013_refused_packages"
down_revision: str | None = "0012_journal_checkpoints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant() -> sa.types.TypeEngine[datetime]:
    # As route_tables.Instant stores it: 32 characters of ISO 8601 on SQLite.
    return sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def upgrade() -> None:
    op.create_table(
        "refused_packages",
        sa.Column("error_id", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("error_id", name="pk_refused_packages"),
    )
    op.create_index("ix_refused_packages_sha256", "refused_packages", ["sha256"])
    op.create_index("ix_refused_packages_at", "refused_packages", ["at"])


def downgrade() -> None:
    op.drop_index("ix_refused_packages_at", table_name="refused_packages")
    op.drop_index("ix_refused_packages_sha256", table_name="refused_packages")
    op.drop_table("refused_packages")
