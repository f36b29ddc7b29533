"""Tables of federation (issue 10): the peers this node forwards to and polls, and each
package taken from one (migration 0008_federation). A hop itself (to whom, when, the
peer's id, the digest handed over) is a trail entry and a journal entry of its delivery.

Secrets are not here: a peer names the file its secret is read from (`secret_file`), as
the node key is a file, so a database dump carries no credential of another node.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from adapters.store.db import metadata
from adapters.store.route_tables import Instant

peers = Table(
    "peers", metadata,
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # vdxp (the national axis), axis
    Column("endpoint", String(500), nullable=False),
    Column("system_id", String(128), nullable=False),  # this node's id at the peer
    Column("secret_file", String(500), nullable=False),
    # Senders whose unsigned packages this peer may bring ("*": any it serves); issue 10:
    # real national traffic is unsigned, so admissions are explicit and per peer.
    Column("admit_unsigned", JSON(), nullable=False),
    Column("node_certificates", JSON(), nullable=False),  # the peer node's own keys
    Column("provinces", JSON(), nullable=False, server_default="[]"),  # 0011: by code
    Column("unreachable_after_s", Integer(), nullable=False),  # /readyz: degraded after
    Column("active", Integer(), nullable=False),
    Column("note", Text(), nullable=False),
    Column("added_at", Instant(), nullable=False),
    Column("last_success_at", Instant(), nullable=True),
    Column("last_failure_at", Instant(), nullable=True),
    Column("failing_since", Instant(), nullable=True),
    Column("last_error", String(500), nullable=False),
    PrimaryKeyConstraint("name"),
)

# What a peer listed for us and what became of it: the poller's memory, so a package
# fetched and accepted but not yet acknowledged (a crash between the two) is only
# acknowledged again, never accepted twice (the exchange de-duplicates anyway).
peer_inbound = Table(
    "peer_inbound", metadata,
    Column("peer", String(64), nullable=False),
    Column("peer_doc_id", String(200), nullable=False),
    Column("message_type", String(16), nullable=False),
    Column("at", Instant(), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),  # accepted, duplicate, refused
    Column("code", String(64), nullable=False),
    Column("acknowledged", String(16), nullable=False),  # "", done, fail
    PrimaryKeyConstraint("peer", "peer_doc_id"),
)

PEER_TABLES = (peers, peer_inbound)
