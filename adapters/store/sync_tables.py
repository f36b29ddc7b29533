"""Tables of the national registry sync (issue 10, item 1; migration 0009_registry_sync):
the last version of each unit seen from each peer, the conflicts shown to the
administrator, and which of this node's agencies are registered with which peer."""

from __future__ import annotations

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String, Table, Text

from adapters.store.db import metadata
from adapters.store.route_tables import Instant

# Per (peer, code): what the peer listed last and what the sync did with it. A unit whose
# version, center and deleted flag are unchanged is skipped at the next run.
registry_sync_units = Table(
    "registry_sync_units", metadata,
    Column("peer", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(500), nullable=False),
    Column("center", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("deleted", Integer(), nullable=False),
    Column("synced_at", Instant(), nullable=False),
    Column("outcome", String(16), nullable=False),  # added, updated, … conflict
    PrimaryKeyConstraint("peer", "code"),
)

# Conflicts stay here, resolved or not: the administrator sees when each was first and
# last seen, and when a later run no longer found it.
registry_sync_conflicts = Table(
    "registry_sync_conflicts", metadata,
    Column("peer", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", Text(), nullable=False),
    Column("first_seen", Instant(), nullable=False),
    Column("last_seen", Instant(), nullable=False),
    Column("resolved_at", Instant(), nullable=True),
    PrimaryKeyConstraint("peer", "code", "kind"),
)

peer_registrations = Table(
    "peer_registrations", metadata,
    Column("peer", String(64), nullable=False),
    Column("agency_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # registered, unregistered
    Column("at", Instant(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text(), nullable=False),
    PrimaryKeyConstraint("peer", "agency_id"),
)

SYNC_TABLES = (registry_sync_units, registry_sync_conflicts, peer_registrations)
