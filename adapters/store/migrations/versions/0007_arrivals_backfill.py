"""Arrivals due for takes made before 0006: a delivered document whose node 01 never went
to its sender (taken while the disk was full, under the old `status.deferred`) gets its
owed row, so that the worker signs it and reconciliation reads only `arrivals_due`
(adapters/store/route_repo.py `delivered_without_arrival`).

Revision ID: 0007_arrivals_backfill
Revises: 0006_arrivals_due
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_arrivals_backfill"
down_revision: str | None = "0006_arrivals_due"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The 01's dedupe key as axis/route/exchange.py builds it: status:01|<recipient, who
    # reports>|<document>|<original sender, who receives the 01>.
    op.execute(
        "INSERT INTO arrivals_due (delivery_id, taken_at) "
        "SELECT d.delivery_id, d.delivered_at FROM deliveries d "
        "WHERE d.state = 'delivered' AND d.kind = 'edoc' AND d.delivered_at IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM deliveries s WHERE s.dedupe_key = "
        "'status:01|' || d.recipient_id || '|' || d.document_id || '|' || d.sender_id) "
        "AND NOT EXISTS (SELECT 1 FROM arrivals_due a WHERE a.delivery_id = d.delivery_id)")


def downgrade() -> None:
    pass  # the rows are owed work, not schema: nothing to undo
