"""The journal's signed checkpoints (issue 11, item 1; migration 0012_journal_checkpoints;
axis/journal/checkpoint.py): one row per checkpointed seal head, as signed. The same
checkpoints are exported as files (adapters/store/checkpoints.py): the rows serve the
node itself (the latest it vouched for, the console), the files the auditor, since
whoever can cut the journal can cut this table too."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table, Text

from adapters.store.db import metadata
from adapters.store.route_tables import Instant

journal_checkpoints = Table(
    "journal_checkpoints", metadata,
    # One checkpoint per seal head: two processes checkpointing the same head at once
    # collide here and the second keeps none.
    Column("seq", BigInteger(), nullable=False),
    Column("head", String(64), nullable=False),
    Column("at", Instant(), nullable=False),
    Column("signer", String(64), nullable=False),  # the signing certificate's fingerprint
    Column("signature", Text(), nullable=False),  # base64
    Column("certificates", Text(), nullable=False),  # PEM, the signer's first
    PrimaryKeyConstraint("seq"),
)

CHECKPOINT_TABLES = (journal_checkpoints,)
