"""Tables of request admission shared by every node process (issue 9, item 3): the replay
cache and the rate-limit buckets (adapters/store/auth_state.py reads and writes them).

In the database the node already has rather than in one process's memory: behind several
`axis serve` processes a request replayed to another process must still be refused, and an
agency's rate limit must hold across all of them. Instants are Unix seconds (double
precision), the unit the request signature's timestamp uses (axis/auth/signing.py).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, PrimaryKeyConstraint, String, Table

from adapters.store.db import metadata

# A signed request is accepted once: its (system id, signature) is kept until the
# timestamp leaves the acceptance window (then the window check refuses it anyway).
auth_replay = Table(
    "auth_replay", metadata,
    Column("system_id", String(128), nullable=False),
    Column("signature", String(64), nullable=False),  # hex HMAC-SHA256
    Column("expires_at", Float(), nullable=False),
    PrimaryKeyConstraint("system_id", "signature"),
)
Index("ix_auth_replay_expires_at", auth_replay.c.expires_at)

# A token bucket per agency: tokens left at `updated_at`. A missing row is a full bucket,
# so a bucket idle long enough to have refilled is deleted by the purge job.
auth_rate = Table(
    "auth_rate", metadata,
    Column("bucket", String(128), nullable=False),
    Column("tokens", Float(), nullable=False),
    Column("updated_at", Float(), nullable=False),
    PrimaryKeyConstraint("bucket"),
)
Index("ix_auth_rate_updated_at", auth_rate.c.updated_at)

AUTH_TABLES = (auth_replay, auth_rate)
