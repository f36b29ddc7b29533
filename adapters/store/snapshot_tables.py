"""The registry snapshot held from each Axis peer (issue 10, item 5; migration
0010_peer_snapshots): its version (the next must be newer), the SHA-256 of its signed
bytes (what the administrator compares with the peer's), when it was issued and received,
and how many agencies it listed."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, PrimaryKeyConstraint, String, Table

from adapters.store.db import metadata
from adapters.store.route_tables import Instant

peer_snapshots = Table(
    "peer_snapshots", metadata,
    Column("peer", String(64), nullable=False),
    Column("version", BigInteger(), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("signer", String(64), nullable=False),  # the signing certificate's fingerprint
    Column("issued_at", Instant(), nullable=False),
    Column("received_at", Instant(), nullable=False),
    Column("agencies", Integer(), nullable=False),
    PrimaryKeyConstraint("peer"),
)

SNAPSHOT_TABLES = (peer_snapshots,)
