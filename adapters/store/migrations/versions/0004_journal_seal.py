"""Journal without a global lock: the database numbers entries, a sealer chains them
(issue 9, item 4; adapters/store/route_journal.py).

Revision ID: 0004_journal_seal
Revises: 0003_processes
Create Date: 2026-11-30

Existing entries were chained one link per append with the very formula the sealer uses,
and `journal_head` held the last of them: they are the sealed part as they stand, and the
head row becomes the seal head unchanged. Their `entry_hash` stays NULL (their link covers
the content). New entries get a number from the database: a sequence on PostgreSQL
starting after the last entry; on SQLite the table is rebuilt with AUTOINCREMENT (`seq`
must become the rowid alias), which carries the highest number over.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_journal_seal"
down_revision: str | None = "0003_processes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEQ = "journal_seq_seq"  # the name PostgreSQL gives a BIGSERIAL journal.seq


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("journal", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}) as b:
            b.alter_column("seq", existing_type=sa.BigInteger(), type_=sa.Integer(),
                           existing_nullable=False, autoincrement=True)
            b.add_column(sa.Column("entry_hash", sa.String(64), nullable=True))
            b.alter_column("prev_hash", existing_type=sa.String(64), nullable=True)
            b.alter_column("hash", existing_type=sa.String(64), nullable=True)
        # Never hand out a number an existing entry had (the rebuild's copy sets it too;
        # this makes it explicit whatever SQLite version runs it).
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'journal'")
        op.execute("INSERT INTO sqlite_sequence (name, seq) "
                   "SELECT 'journal', COALESCE(MAX(seq), 0) FROM journal")
        return
    op.add_column("journal", sa.Column("entry_hash", sa.String(64), nullable=True))
    op.alter_column("journal", "prev_hash", existing_type=sa.String(64), nullable=True)
    op.alter_column("journal", "hash", existing_type=sa.String(64), nullable=True)
    op.execute(f"CREATE SEQUENCE {_SEQ} AS BIGINT OWNED BY journal.seq")
    op.execute(f"ALTER TABLE journal ALTER COLUMN seq SET DEFAULT nextval('{_SEQ}')")
    op.execute("SELECT setval('journal_seq_seq', "
               "COALESCE((SELECT MAX(seq) FROM journal), 0) + 1, false)")


def downgrade() -> None:
    # Only a fully sealed journal goes back (the NOT NULL below refuses unsealed entries);
    # gap markers stay, as ordinary entries of the old chain.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("journal", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": False}) as b:
            b.drop_column("entry_hash")
            b.alter_column("seq", existing_type=sa.Integer(), type_=sa.BigInteger(),
                           existing_nullable=False, autoincrement=False)
            b.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
            b.alter_column("hash", existing_type=sa.String(64), nullable=False)
        return
    op.execute("ALTER TABLE journal ALTER COLUMN seq DROP DEFAULT")
    op.execute(f"DROP SEQUENCE {_SEQ}")
    op.drop_column("journal", "entry_hash")
    op.alter_column("journal", "prev_hash", existing_type=sa.String(64), nullable=False)
    op.alter_column("journal", "hash", existing_type=sa.String(64), nullable=False)
