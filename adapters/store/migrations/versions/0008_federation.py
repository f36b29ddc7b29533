"""Federation (issue 10): which node serves an agency (`agencies.served_by`), the peers
and what was taken from them (adapters/store/peer_tables.py).

Every agency already registered as external was, in effect, the national axis's: it is
marked so, and its copies now go there instead of waiting for nobody.

Revision ID: 0008_federation
Revises: 0007_arrivals_backfill
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008_federation"
down_revision: str | None = "0007_arrivals_backfill"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant() -> sa.types.TypeEngine[datetime]:
    # As route_tables.Instant stores it: 32 characters of ISO 8601 on SQLite.
    return sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")


def _has_served_by() -> bool:
    columns = sa.inspect(op.get_bind()).get_columns("agencies")
    return any(c["name"] == "served_by" for c in columns)


def upgrade() -> None:
    if not _has_served_by():  # a SQLite downgrade leaves it (see downgrade)
        with op.batch_alter_table("agencies") as batch:
            batch.add_column(sa.Column("served_by", sa.String(64), nullable=False,
                                       server_default=""))
    op.execute("UPDATE agencies SET served_by = 'national' WHERE kind = 'external'")

    op.create_table(
        "peers",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(500), nullable=False),
        sa.Column("system_id", sa.String(128), nullable=False),
        sa.Column("secret_file", sa.String(500), nullable=False),
        sa.Column("admit_unsigned", sa.JSON(), nullable=False),
        sa.Column("node_certificates", sa.JSON(), nullable=False),
        sa.Column("unreachable_after_s", sa.Integer(), nullable=False),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("added_at", _instant(), nullable=False),
        sa.Column("last_success_at", _instant(), nullable=True),
        sa.Column("last_failure_at", _instant(), nullable=True),
        sa.Column("failing_since", _instant(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_peers"),
    )
    op.create_table(
        "peer_inbound",
        sa.Column("peer", sa.String(64), nullable=False),
        sa.Column("peer_doc_id", sa.String(200), nullable=False),
        sa.Column("message_type", sa.String(16), nullable=False),
        sa.Column("at", _instant(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("acknowledged", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("peer", "peer_doc_id", name="pk_peer_inbound"),
    )


def downgrade() -> None:
    op.drop_table("peer_inbound")
    op.drop_table("peers")
    # SQLite drops a column by rebuilding the table, which its foreign keys (history,
    # certificates, credentials) forbid while enforced: the column stays there, unused by
    # the older schema (it has a default), and upgrade() finds it.
    if op.get_bind().dialect.name != "sqlite":
        with op.batch_alter_table("agencies") as batch:
            batch.drop_column("served_by")
