"""The journal's signed checkpoints (issue 11, item 1; adapters/store/checkpoint_tables.py).

Revision ID: 0012_journal_checkpoints
Revises: 0011_peer_provinces
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0012_journal_checkpoints"
down_revision: str | None = "0011_peer_provinces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant() -> sa.types.TypeEngine[datetime]:
    # As route_tables.Instant stores it: 32 characters of ISO 8601 on SQLite.
    return sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def upgrade() -> None:
    op.create_table(
        "journal_checkpoints",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("signer", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("certificates", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_journal_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("journal_checkpoints")
