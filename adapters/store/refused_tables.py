"""The evidence kept of refused packages (issue 11, item 2; migration 0013_refused_packages;
adapters/store/refused_repo.py): one row per refusal whose bytes are kept, by error id.
The bytes themselves are content-addressed files under data_dir/refused, apart from the
package store (the orphan collector never sees them)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, PrimaryKeyConstraint, String, Table

from adapters.store.db import metadata
from adapters.store.route_tables import Instant

refused_packages = Table(
    "refused_packages", metadata,
    Column("error_id", String(64), nullable=False),  # the journal entry's subject
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger(), nullable=False),
    Column("at", Instant(), nullable=False),
    Column("code", String(64), nullable=False),
    PrimaryKeyConstraint("error_id"),
    Index("ix_refused_packages_sha256", "sha256"),
    Index("ix_refused_packages_at", "at"),
)

REFUSED_TABLES = (refused_packages,)
