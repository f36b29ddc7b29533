"""Indexes for the auditors' reads (issue 11): a document's journal entries and packages
(evidence bundles, replay), entries of a kind in a time window and packages by time (the
console's overview). Built on a live journal: on PostgreSQL a large journal takes a while
(the index build reads it once); no table is rewritten.

Revision ID: 0015_evidence_indexes
Revises: 0014_tasks
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015_evidence_indexes"
down_revision: str | None = "0014_tasks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_journal_kind_at", "journal", ["kind", "at"]),
    ("ix_journal_subject", "journal", ["subject"]),
    ("ix_packages_document", "packages", ["document_id"]),
    ("ix_packages_received_at", "packages", ["received_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
